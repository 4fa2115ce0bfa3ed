"""Simulation mode: lets a replay move the shared clock. A production configuration refuses it."""
