package queue

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/oimconnect/oimconnect/pipeline"
)

// Job kinds, as River records them.
const (
	KindRun       = "oimconnect_run"
	KindExport    = "oimconnect_export"
	KindPartition = "oimconnect_backfill_partition"
)

// RunFlow runs flows of a tenant: on a schedule (Due), on an event (automatic), or
// asked for by someone (manual).
type RunFlow struct {
	Tenant string   `json:"tenant" river:"unique"`
	Flows  []string `json:"flows,omitempty" river:"unique"` // empty: every flow (automatic: every automated flow)
	Mode   string   `json:"mode" river:"unique"`            // pipeline.ModeScheduled, ModeAutomatic or ModeManual
	// Due is the schedule's due time (RFC 3339) a scheduled run is for: one job per due.
	Due string `json:"due,omitempty" river:"unique"`
	// Again numbers the automatic runs asked for while equal ones ran: a change during
	// a run needs another run, and one waits.
	Again int `json:"again,omitempty" river:"unique"`
	// Release names a backfill whose partitions wait for this run (its undated flows,
	// vendor accounts first): they become available once it is done.
	Release string `json:"release,omitempty" river:"unique"`
	By      string `json:"by,omitempty"`
}

// Kind is River's name for the job.
func (RunFlow) Kind() string { return KindRun }

// ExportRecords exports given records of one flow (the record page action).
type ExportRecords struct {
	Tenant string   `json:"tenant" river:"unique"`
	Flow   string   `json:"flow" river:"unique"`
	IDs    []string `json:"ids" river:"unique"`
	By     string   `json:"by,omitempty"`
}

// Kind is River's name for the job.
func (ExportRecords) Kind() string { return KindExport }

// BackfillPartition exports one partition of a backfill of a tenant's dated flows.
type BackfillPartition struct {
	Tenant string `json:"tenant" river:"unique"`
	// Backfill is the backfill's id (backfill.Request.ID): its dates, partition size
	// and flows, which From, To, Size and Flows repeat.
	Backfill  string             `json:"backfill" river:"unique"`
	From      string             `json:"from"` // YYYY-MM-DD
	To        string             `json:"to"`   // YYYY-MM-DD, included
	Size      string             `json:"size"` // day or month
	Flows     []string           `json:"flows,omitempty"`
	Partition pipeline.Partition `json:"partition" river:"unique"`
	By        string             `json:"by,omitempty"`
}

// Kind is River's name for the job.
func (BackfillPartition) Kind() string { return KindPartition }

// States a job is unique over. A pending, waiting or running job is never doubled; a
// scheduled run's due time stays taken once its job is done (for as long as River
// keeps done jobs: the schedule table is what makes it exactly once).
var (
	whilePending = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled}
	ever = append(append([]rivertype.JobState{}, whilePending...), rivertype.JobStateCompleted,
		rivertype.JobStateCancelled, rivertype.JobStateDiscarded)
	untilDone = append(append([]rivertype.JobState{}, whilePending...), rivertype.JobStateCompleted)
)

// maxAttempts bounds a job's attempts: transient failures (a database unreachable)
// are retried with back-off up to it; other failures fewer times (Worker.outcome).
const maxAttempts = 12

// opts are a job's insert options: its uniqueness and metadata (the tenant, and the
// backfill of a partition), so `oimconnect queue` lists a tenant's jobs.
func opts(tenant string, states []rivertype.JobState, meta map[string]string) *river.InsertOpts {
	m := map[string]string{"tenant": tenant}
	for k, v := range meta {
		m[k] = v
	}
	data, _ := json.Marshal(m)
	return &river.InsertOpts{MaxAttempts: maxAttempts, Metadata: data,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: states}}
}

// insertOpts are a run's insert options by its mode.
func (a RunFlow) insertOpts() *river.InsertOpts {
	states := whilePending
	if a.Mode == pipeline.ModeScheduled {
		states = ever
	}
	return opts(a.Tenant, states, nil)
}

// describe is what a job does, in a line.
func describe(kind string, args []byte) string {
	switch kind {
	case KindRun:
		var a RunFlow
		_ = json.Unmarshal(args, &a)
		s := a.Mode + " run of " + flowList(a.Flows)
		if a.Due != "" {
			s += " due " + a.Due
		}
		if a.Again > 0 {
			s += fmt.Sprintf(" (again %d)", a.Again)
		}
		if a.Release != "" {
			s += " before backfill " + a.Release
		}
		return s
	case KindExport:
		var a ExportRecords
		_ = json.Unmarshal(args, &a)
		return "export " + a.Flow + " " + strings.Join(a.IDs, ",")
	case KindPartition:
		var a BackfillPartition
		_ = json.Unmarshal(args, &a)
		return "backfill " + a.Backfill + " partition " + a.Partition.Name
	}
	return kind
}

func flowList(flows []string) string {
	if len(flows) == 0 {
		return "every flow"
	}
	return strings.Join(flows, ",")
}
