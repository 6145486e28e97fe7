package config

import (
	"fmt"
	"os"
	"reflect"
)

// The embedded-emulator demo: `make run` with no Twilio account turns every
// optional capability on, so that a newcomer sees the whole product without
// reading the configuration first. A capability takes its demo values (the
// `demo` tags of Config) only when none of its variables (the fields sharing
// its `capability` tag) is set, even to an empty value: whatever an operator
// sets for a capability is taken as it is, and never mixed with demo values
// that could contradict it (a demo warning longer than their timeout). With
// a Twilio account (or EMULATOR_URL) there is no demo: the defaults are the
// `default` tags.

// embeddedInEnv reports whether the environment asks for the embedded
// emulator, the only mode with demo values.
func embeddedInEnv() bool {
	return os.Getenv("TWILIO_ACCOUNT_SID") == "" && os.Getenv("EMULATOR_URL") == ""
}

// Capability is one optional capability as the configuration turns it on.
type Capability struct {
	Name string
	// Demo is true when its values are the demo's (no variable of it set).
	Demo bool
	// Vars are its variables, in Config's order.
	Vars []string
}

// Capabilities lists the optional capabilities, each with its variables and
// whether the current environment gives it the demo's values.
func Capabilities() []Capability {
	var caps []Capability
	index := map[string]int{}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("capability")
		if name == "" {
			continue
		}
		j, ok := index[name]
		if !ok {
			j = len(caps)
			index[name] = j
			caps = append(caps, Capability{Name: name, Demo: embeddedInEnv()})
		}
		v := f.Tag.Get("envconfig")
		caps[j].Vars = append(caps[j].Vars, v)
		if _, set := os.LookupEnv(v); set {
			caps[j].Demo = false
		}
	}
	return caps
}

// demoTags returns, for each variable that takes a demo value in the
// current environment, the struct tag Load processes it with: the demo value
// as its default (the variable is unset, so envconfig uses it).
func demoTags() map[string]reflect.StructTag {
	demo := map[string]bool{}
	for _, c := range Capabilities() {
		if c.Demo {
			demo[c.Name] = true
		}
	}
	tags := map[string]reflect.StructTag{}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		v, ok := f.Tag.Lookup("demo")
		if !ok || !demo[f.Tag.Get("capability")] {
			continue
		}
		name := f.Tag.Get("envconfig")
		tags[name] = reflect.StructTag(fmt.Sprintf("envconfig:%q default:%q", name, v))
	}
	return tags
}

// Summary says, one line per capability, what the configuration turns on
// and how to change it: the start output of `flexhooks serve`.
func (c Config) Summary() []string {
	var lines []string
	for _, cp := range Capabilities() {
		st := c.capabilityState(cp.Name)
		line := fmt.Sprintf("%-19s off  (%s turns it on)", cp.Name, st.turnOn)
		if st.on {
			line = fmt.Sprintf("%-19s on   %s (%s turns it off)", cp.Name, st.settings, st.turnOff)
		}
		if cp.Demo {
			line += " [demo value of the embedded emulator]"
		}
		lines = append(lines, line)
	}
	return lines
}

type capabilityState struct {
	on              bool
	settings        string
	turnOn, turnOff string
}

// capabilityState describes one capability's effective settings.
func (c Config) capabilityState(name string) capabilityState {
	pcOn := c.PersistentChat != "" && c.PersistentChat != PersistentChatOff
	switch name {
	case "parked list":
		return capabilityState{c.ParkedList, fmt.Sprintf("PARKED_LIST=true PARKED_TTL=%s", c.ParkedTTL),
			"PARKED_LIST=true", "PARKED_LIST=false"}
	case "inactivity timeout":
		on := c.InactivityTimeout != 0 || c.InactivityTimeoutSMS != 0 || c.InactivityTimeoutWhatsApp != 0 ||
			c.InactivityTimeoutChat != 0 || c.InactivityTimeoutMessenger != 0
		s := fmt.Sprintf("INACTIVITY_TIMEOUT=%s", c.InactivityTimeout)
		for _, o := range []struct {
			name string
			d    fmt.Stringer
			set  bool
		}{
			{"SMS", c.InactivityTimeoutSMS, c.InactivityTimeoutSMS != 0},
			{"WHATSAPP", c.InactivityTimeoutWhatsApp, c.InactivityTimeoutWhatsApp != 0},
			{"CHAT", c.InactivityTimeoutChat, c.InactivityTimeoutChat != 0},
			{"MESSENGER", c.InactivityTimeoutMessenger, c.InactivityTimeoutMessenger != 0},
		} {
			if o.set {
				s += fmt.Sprintf(" INACTIVITY_TIMEOUT_%s=%s", o.name, o.d)
			}
		}
		if c.InactivityWarning != 0 {
			s += fmt.Sprintf(" INACTIVITY_WARNING=%s", c.InactivityWarning)
		}
		return capabilityState{on, s, "INACTIVITY_TIMEOUT=PT30M", "INACTIVITY_TIMEOUT= (empty)"}
	case "interaction records":
		switch {
		case c.InteractionRecords:
			return capabilityState{true, "INTERACTION_RECORDS=true", "", "INTERACTION_RECORDS=false PERSISTENT_CHAT=off"}
		case pcOn:
			return capabilityState{true, "(PERSISTENT_CHAT needs them)", "", "PERSISTENT_CHAT=off"}
		}
		return capabilityState{false, "", "INTERACTION_RECORDS=true", ""}
	case "persistent chat":
		return capabilityState{pcOn, fmt.Sprintf("PERSISTENT_CHAT=%s PERSISTENT_CHAT_WINDOW=%s", c.PersistentChat, c.PersistentChatWindow),
			"PERSISTENT_CHAT=ENTIRE_PAST_SESSION", "PERSISTENT_CHAT=off"}
	}
	return capabilityState{}
}
