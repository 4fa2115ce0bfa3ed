"""Hospitals that take home patients transported at night, and the backup beds they hold for them."""
