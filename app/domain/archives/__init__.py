"""Channel archives: export a channel's history to local storage or S3, once or on a schedule."""
