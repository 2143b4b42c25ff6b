"""The "Товары и услуги" tab of the deal and item cards (``placement`` function): verification, view, actions."""
