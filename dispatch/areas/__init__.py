"""The prefecture's geography for 広域連携: medical areas, 保健所, district medical associations, neighbours."""
