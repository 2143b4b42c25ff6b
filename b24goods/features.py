"""Imports every module that registers event handlers, so ``functions/events.py`` sees them all."""
