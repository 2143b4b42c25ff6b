"""``sync_rows``: robot ``b24goods_sync_rows``."""

from activities.sync_rows import ACTIVITY
from b24goods.http import robot_endpoint

sync_rows = robot_endpoint(ACTIVITY)
