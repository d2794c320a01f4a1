"""One WSGI app serving the three services under their URL prefixes, as the proxy does."""

from werkzeug.middleware.dispatcher import DispatcherMiddleware

from services.checkin.wsgi import app as checkin
from services.notifications.wsgi import app as notifications
from services.registration.wsgi import app as registration

app = DispatcherMiddleware(registration, {"/checkin": checkin, "/notifications": notifications})
