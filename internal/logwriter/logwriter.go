// Package logwriter is the server's log output: lines are gathered in memory and written
// in batches, so that a request does not wait for a write to the terminal or a pipe.
package logwriter

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// DefaultInterval is how long a line may wait in memory before it is written.
const DefaultInterval = 100 * time.Millisecond

// bufferSize is how much is gathered at most; a full buffer is written at once.
const bufferSize = 64 << 10

// Writer gathers what is written to it and writes it to the underlying writer at least
// every interval, when its buffer is full, and on Flush and Close. A line is never split
// across batches (each Write, one log record, goes whole). Lines still in memory when the
// process is killed are lost; a clean shutdown (Close) writes them all.
type Writer struct {
	mu     sync.Mutex
	buf    *bufio.Writer
	err    error // the first write error, kept so it is not retried forever
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// New starts a Writer over w that writes at least every interval (DefaultInterval when
// interval is 0 or less).
func New(w io.Writer, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	lw := &Writer{buf: bufio.NewWriterSize(w, bufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.loop(interval)
	return lw
}

func (lw *Writer) loop(interval time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = lw.Flush()
		case <-lw.stop:
			return
		}
	}
}

// Write implements io.Writer. After Close it writes straight through.
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		n, err := lw.buf.Write(p)
		if err == nil {
			err = lw.buf.Flush()
		}
		return n, err
	}
	if lw.buf.Available() < len(p) && lw.buf.Buffered() > 0 {
		// Keep the record whole: write out what is gathered first.
		if err := lw.buf.Flush(); err != nil && lw.err == nil {
			lw.err = err
		}
	}
	return lw.buf.Write(p)
}

// Flush writes what is gathered.
func (lw *Writer) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if err := lw.buf.Flush(); err != nil {
		if lw.err == nil {
			lw.err = err
		}
		return err
	}
	return nil
}

// Close stops the periodic writes and writes what is left; later writes go straight
// through. It returns the first write error seen, if any.
func (lw *Writer) Close() error {
	lw.mu.Lock()
	if lw.closed {
		lw.mu.Unlock()
		return lw.err
	}
	lw.closed = true
	lw.mu.Unlock()
	close(lw.stop)
	<-lw.done
	_ = lw.Flush()
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.err
}
