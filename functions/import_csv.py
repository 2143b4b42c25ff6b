"""``import_csv``: robot ``b24goods_import_csv`` (a durable job: answered when the import ends)."""

from activities.import_csv import ACTIVITY
from b24goods.http import robot_endpoint

import_csv = robot_endpoint(ACTIVITY)
