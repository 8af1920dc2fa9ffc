package host

import "time"

// PeakBatches is the most batches a plugin of the host held in memory at once, in any
// pass so far.
func (h *Host) PeakBatches() int64 {
	var n int64
	for _, r := range h.runners {
		n = max(n, r.peak.Load())
	}
	return n
}

// SortFrom makes passes of n batches or more read sorted copies of the outputs, until
// restore is called. Tests that call it must not run in parallel with others.
func SortFrom(n int) (restore func()) {
	old := sortedFrom
	sortedFrom = n
	return func() { sortedFrom = old }
}

// StartTimeoutAtLeast sets the least time a plugin is given to start, until restore is
// called. Tests that call it must not run in parallel with others.
func StartTimeoutAtLeast(d time.Duration) (restore func()) {
	old := minStartTimeout
	minStartTimeout = d
	return func() { minStartTimeout = old }
}
