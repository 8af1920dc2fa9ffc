package config_test

import (
	"testing"
	"time"

	"github.com/oimconnect/oimconnect/pipeline/config"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04 Mon", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		s           config.Schedule
		after, want string
	}{
		{config.Schedule{Frequency: "Hourly", At: "00:15"}, "2024-05-01 10:00 Wed", "2024-05-01 10:15 Wed"},
		{config.Schedule{Frequency: "Hourly", At: "00:15"}, "2024-05-01 10:15 Wed", "2024-05-01 11:15 Wed"},
		{config.Schedule{Frequency: "Hourly", At: "00:15"}, "2024-05-01 23:20 Wed", "2024-05-02 00:15 Thu"},
		{config.Schedule{Frequency: "Daily", At: "02:00"}, "2024-05-01 01:59 Wed", "2024-05-01 02:00 Wed"},
		{config.Schedule{Frequency: "Daily", At: "02:00"}, "2024-05-01 02:00 Wed", "2024-05-02 02:00 Thu"},
		{config.Schedule{Frequency: "Weekly", At: "06:30", Days: []string{"Mon", "Thu"}}, "2024-05-01 12:00 Wed", "2024-05-02 06:30 Thu"},
		{config.Schedule{Frequency: "Weekly", At: "06:30", Days: []string{"Mon", "Thu"}}, "2024-05-02 06:30 Thu", "2024-05-06 06:30 Mon"},
		{config.Schedule{Frequency: "Monthly", At: "01:00", Day: 15}, "2024-05-15 01:00 Wed", "2024-06-15 01:00 Sat"},
		{config.Schedule{Frequency: "Monthly", At: "01:00", Day: 31}, "2024-02-01 00:00 Thu", "2024-02-29 01:00 Thu"},
		{config.Schedule{Frequency: "Monthly", At: "01:00", Day: 31}, "2024-02-29 01:00 Thu", "2024-03-31 01:00 Sun"},
	}
	for _, c := range cases {
		if err := c.s.Check(); err != nil {
			t.Fatalf("%+v: %v", c.s, err)
		}
		if got := c.s.Next(at(c.after)); !got.Equal(at(c.want)) {
			t.Errorf("%+v after %s: got %s, want %s", c.s, c.after, got.Format("2006-01-02 15:04 Mon"), c.want)
		}
	}
	for _, bad := range []config.Schedule{{Frequency: "Fortnightly"}, {Frequency: "Daily", At: "25:00"},
		{Frequency: "Weekly"}, {Frequency: "Weekly", Days: []string{"Funday"}}, {Frequency: "Monthly", Day: 32}} {
		if bad.Check() == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
