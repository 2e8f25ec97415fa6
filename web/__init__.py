"""The kiosk: a Flask app served by waitress, with a live Server-Sent Events stream."""
