"""``apply_agreement``: robot ``b24goods_apply_agreement``."""

from activities.apply_agreement import ACTIVITY
from b24goods.http import robot_endpoint

apply_agreement = robot_endpoint(ACTIVITY)
