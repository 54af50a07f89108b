-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per week.
{{ actual_vs_estimated('week') }}
