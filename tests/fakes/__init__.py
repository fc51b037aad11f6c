"""Stand-ins for outside services, implementing their real interfaces."""
