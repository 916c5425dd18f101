"""All ORM models, one module per aggregate; importing this package registers every table."""

from app.db.models.user import RefreshToken, User, UserRole

__all__ = ["RefreshToken", "User", "UserRole"]
