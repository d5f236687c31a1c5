"""The ESP32 firmware (``esp32/``) and a Python device simulator that speaks the same
protocol (``simulator.py``)."""
