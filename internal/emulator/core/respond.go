package core

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteJSON renders v into a buffer first, so an encoding failure becomes a 500
// rather than half a body after a 200.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"code":20500,"message":"encoding failed","status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Time formats Twilio uses in JSON bodies and webhook parameters.
const ISO8601 = "2006-01-02T15:04:05Z"

// ISO formats t as Twilio does in JSON (UTC, seconds).
func ISO(t time.Time) string { return t.UTC().Format(ISO8601) }

// ISOPtr is ISO for optional dates: nil for the zero time, which JSON renders as null.
func ISOPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ISO(t)
	return &s
}

// ResourceURL is the absolute URL of a resource on the real Twilio host the
// request was addressed to (twilio-go sends Host: conversations.twilio.com …).
func ResourceURL(r *http.Request, path string) string {
	return "https://" + r.Host + path
}

// Meta is the paging block of a Twilio list response.
type Meta struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
	NextPageURL     *string `json:"next_page_url"`
	Key             string  `json:"key"`
}

// DefaultPageSize and MaxPageSize are Twilio's.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Paginate cuts items into the page the request asks for (PageSize, Page and
// PageToken "PT<offset>") and returns it with its meta, whose URLs keep the
// request's other query parameters and point at the real Twilio host.
func Paginate[T any](r *http.Request, items []T, key string) ([]T, Meta, *Error) {
	q := r.URL.Query()
	size := DefaultPageSize
	if s := q.Get("PageSize"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, Meta{}, BadParam("PageSize", "must be a positive integer")
		}
		size = min(n, MaxPageSize)
	}
	page := 0
	if s := q.Get("Page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, Meta{}, BadParam("Page", "must be a non-negative integer")
		}
		page = n
	}
	offset := page * size
	if tok := q.Get("PageToken"); tok != "" {
		n, err := strconv.Atoi(tok[min(2, len(tok)):])
		if len(tok) < 3 || tok[:2] != "PT" || err != nil || n < 0 {
			return nil, Meta{}, BadParam("PageToken", "is not a token this API issued")
		}
		offset = n
	}
	start := min(offset, len(items))
	end := min(start+size, len(items))
	pageURL := func(p, off int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "Page" && k != "PageSize" && k != "PageToken" {
				v[k] = vs
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if off > 0 {
			v.Set("PageToken", "PT"+strconv.Itoa(off))
		}
		return ResourceURL(r, r.URL.Path) + "?" + v.Encode()
	}
	m := Meta{
		Page:         page,
		PageSize:     size,
		FirstPageURL: pageURL(0, 0),
		URL:          pageURL(page, offset),
		Key:          key,
	}
	if end < len(items) {
		s := pageURL(page+1, end)
		m.NextPageURL = &s
	}
	if page > 0 {
		s := pageURL(page-1, max(0, offset-size))
		m.PreviousPageURL = &s
	}
	return items[start:end], m, nil
}

// WriteList writes a Twilio list response: {"<key>": page, "meta": meta}.
func WriteList[T any](w http.ResponseWriter, r *http.Request, items []T, key string) {
	page, meta, err := Paginate(r, items, key)
	if err != nil {
		WriteError(w, err)
		return
	}
	if page == nil {
		page = []T{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{key: page, "meta": meta})
}

// WriteOldestFirst writes the resources of byID (keyed by SID) as a Twilio
// list under key, each rendered by render, oldest first by created and in
// SID order among equals, so that pages stay stable while resources come
// and go.
func WriteOldestFirst[T, J any](w http.ResponseWriter, r *http.Request, key string, byID map[string]T, created func(T) time.Time, render func(T) J) {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := created(byID[a]).Compare(created(byID[b])); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	items := make([]J, len(ids))
	for i, id := range ids {
		items[i] = render(byID[id])
	}
	WriteList(w, r, items, key)
}
