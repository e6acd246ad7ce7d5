"""SQL models: every file under sql/ becomes an asset."""
