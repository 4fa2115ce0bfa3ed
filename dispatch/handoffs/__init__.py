"""Handoffs (申し送り): each morning, the night's cases reported back to each clinic."""
