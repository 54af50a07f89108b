-- Mean actual and mean estimated half-hourly consumption, and mean deviation, per month.
{{ actual_vs_estimated('month') }}
