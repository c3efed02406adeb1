"""The site's front door: sign-in and lookup throttles, request and upload limits, security headers."""
