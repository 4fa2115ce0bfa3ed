"""A user's account over its life: their own password, logging out everywhere, an admin deactivating,
reactivating or setting a new password; every change audited."""
