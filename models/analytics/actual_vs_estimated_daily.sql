-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per day.
{{ actual_vs_estimated('day') }}
