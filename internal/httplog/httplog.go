// Package httplog holds what Warden's HTTP handlers share for access logging: a
// ResponseWriter that remembers the status it was answered with.
package httplog

import "net/http"

// Recorder remembers the status a handler answered with (200 when it only wrote a body).
type Recorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader implements http.ResponseWriter.
func (s *Recorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (s *Recorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (to flush).
func (s *Recorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
