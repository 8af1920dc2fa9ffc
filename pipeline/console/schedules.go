package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/store"
)

// The schedules page: each flow's scheduled job (settings.schedules: Hourly, Daily,
// Weekly on some days or Monthly on a day, at a time), its next run and its last.
// Admins add, change, disable and remove them; a change is checked, saved and audited
// as settings are, and serve's scheduler follows it at once.

var (
	frequencies = []string{"Hourly", "Daily", "Weekly", "Monthly"}
	weekdays    = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
)

// scheduleRow is one flow's job on the page.
type scheduleRow struct {
	Flow     string
	Key      string // the settings key (flow name with _ for -)
	Has      bool
	Schedule config.Schedule
	Words    string
	Next     time.Time
	Last     *store.Entry // the last scheduled run
	SetBy    string
	Problems map[string]string // at frequency, at, days, day
	General  []string
	Days     map[string]bool // the days ticked
}

// schedulesData is the schedules page's.
type schedulesData struct {
	File        string
	Rows        []scheduleRow
	Frequencies []string
	Weekdays    []string
	Now         time.Time
}

// scheduleWords says a schedule in words.
func scheduleWords(sc config.Schedule) string {
	at := sc.At
	if at == "" {
		at = "00:00"
	}
	var s string
	switch sc.Frequency {
	case "Hourly":
		_, minute, _ := strings.Cut(at, ":")
		s = "every hour at minute " + minute
	case "Daily":
		s = "every day at " + at
	case "Weekly":
		s = "every " + strings.Join(sc.Days, ", ") + " at " + at
	case "Monthly":
		s = fmt.Sprintf("on day %d of every month (its last day when shorter) at %s", sc.Day, at)
	default:
		s = sc.Frequency
	}
	if sc.Disabled {
		s += " (disabled)"
	}
	return s
}

func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.schedulesData(r, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "schedules", view{Title: "Schedules", Nav: "schedules", Data: d})
}

// schedulesData shows the schedules in use; edited, when set, is a refused edit shown
// again with its problems.
func (s *Server) schedulesData(r *http.Request, edited *scheduleRow) (schedulesData, error) {
	cfg := s.config.get()
	d := schedulesData{File: cfg.File(), Frequencies: frequencies, Weekdays: weekdays, Now: s.now()}
	var runs []store.Entry
	err := s.read(r.Context(), func(e *pipeline.Engine) error {
		var err error
		runs, err = e.Runs(r.Context(), 1000)
		return err
	})
	if err != nil {
		return d, err
	}
	for _, f := range s.specs.Ordered() {
		row := scheduleRow{Flow: f.Name, Key: flowKey(f.Name), Days: map[string]bool{}}
		row.Schedule, row.Has = cfg.Settings.Schedules[row.Key]
		row.SetBy = cfg.SetBy("settings", "schedules", row.Key)
		if row.Has {
			row.Words = scheduleWords(row.Schedule)
			if !row.Schedule.Disabled {
				row.Next = row.Schedule.Next(s.now())
			}
		}
		for i := range runs {
			if runs[i].Flow == f.Name && runs[i].Mode == pipeline.ModeScheduled {
				row.Last = &runs[i]
				break
			}
		}
		if edited != nil && edited.Flow == f.Name {
			row.Schedule, row.Has, row.Problems, row.General = edited.Schedule, true, edited.Problems, edited.General
		}
		for _, day := range row.Schedule.Days {
			row.Days[day] = true
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

// saveSchedule adds, changes, disables or removes a flow's job.
func (s *Server) saveSchedule(w http.ResponseWriter, r *http.Request) {
	me, _ := whoOf(r)
	flow := r.PathValue("flow")
	if s.specs.Flows[flow] == nil {
		s.fail(w, r, notFound("no flow %s", flow))
		return
	}
	key := flowKey(flow)
	cfg := s.config.get()
	before, had := cfg.Settings.Schedules[key]
	sc := config.Schedule{Frequency: r.PostFormValue("frequency"), At: strings.TrimSpace(r.PostFormValue("at")),
		Disabled: r.PostFormValue("enabled") != "on"}
	remove := sc.Frequency == "" || r.PostFormValue("remove") != ""
	row := scheduleRow{Flow: flow, Key: key, Schedule: sc, Problems: map[string]string{}}
	if sc.Frequency == "Weekly" {
		for _, day := range weekdays {
			if r.PostFormValue("day-"+day) == "on" {
				sc.Days = append(sc.Days, day)
			}
		}
	}
	if sc.Frequency == "Monthly" {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("day")))
		if err != nil {
			row.Problems["day"] = "day must be a day of the month, 1 to 31"
		}
		sc.Day = n
	}
	row.Schedule = sc
	refused := func() {
		d, err := s.schedulesData(r, &row)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "schedules", view{Title: "Schedules", Nav: "schedules",
			Error: "The schedule of " + flow + " was not saved: correct what is marked below.", Data: d})
	}
	if len(row.Problems) > 0 {
		refused()
		return
	}
	path := []string{"settings", "schedules", key}
	was, now := "none", "none"
	if had {
		was = scheduleWords(before)
	}
	if !remove {
		now = scheduleWords(sc)
	}
	_, err := s.config.edit(func(doc *config.Document) error {
		if remove {
			return doc.Delete(path...)
		}
		return setSchedule(doc, path, sc)
	}, func() error {
		return s.audit(r.Context(), me.name, "schedule", fmt.Sprintf("settings.schedules.%s: %s -> %s", key, was, now))
	})
	var refusal *editError
	switch {
	case errors.As(err, &refusal):
		fields := map[string][]string{}
		for _, f := range []string{"frequency", "at", "days", "day"} {
			fields[f] = append(append([]string{}, path...), f)
		}
		row.Problems, row.General = fieldErrors(refusal.err, refusal.data, fields)
		refused()
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.log.Info("schedule changed", "user", me.name, "flow", flow, "schedule", now)
	s.redirectFlash(w, r, "/schedules#"+flow, "Schedule of "+flow+": "+now+".", "")
}

// setSchedule writes a schedule key by key, so the file keeps its order and comments.
func setSchedule(doc *config.Document, path []string, sc config.Schedule) error {
	at := func(k string) []string { return append(append([]string{}, path...), k) }
	set := []struct {
		key   string
		value any
		keep  bool
	}{
		{"frequency", sc.Frequency, true},
		{"at", sc.At, sc.At != ""},
		{"days", sc.Days, sc.Frequency == "Weekly"},
		{"day", sc.Day, sc.Frequency == "Monthly"},
		{"disabled", true, sc.Disabled},
	}
	for _, x := range set {
		var err error
		if x.keep {
			err = doc.Set(x.value, at(x.key)...)
		} else {
			err = doc.Delete(at(x.key)...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
