"""The embedded runner's single worker and beat: every service's tasks, all queues."""

from services.checkin import tasks as checkin_tasks  # noqa: F401
from services.checkin.app import create_app as create_checkin
from services.notifications import tasks as notifications_tasks  # noqa: F401
from services.notifications.app import create_app as create_notifications
from services.registration import printing_tasks  # noqa: F401
from services.registration import tasks as registration_tasks  # noqa: F401
from services.registration.app import create_app as create_registration
from shared.logs import configure_logging

configure_logging("worker")
create_registration()
create_checkin()
celery = create_notifications().extensions["celery"]
