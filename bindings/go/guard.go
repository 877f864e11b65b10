package mcp

import "sync"

// guard keeps a C object alive while Go code uses it: enter before each call
// into libmcp that passes the object, exit after; close refuses new entries
// and waits until the current ones are done, after which the object may be
// freed. Entries are never blocked by a pending close (a mutex held across
// the C call would deadlock when a handler calls back in).
type guard struct {
	mu       sync.Mutex
	idle     sync.Cond
	users    int
	closed   bool
	finalize func() // closeThen's, run by the last exit
}

func (g *guard) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.users++
	return true
}

func (g *guard) exit() {
	g.mu.Lock()
	g.users--
	var fin func()
	if g.users == 0 {
		if g.idle.L != nil {
			g.idle.Broadcast()
		}
		fin, g.finalize = g.finalize, nil
	}
	g.mu.Unlock()
	if fin != nil {
		fin()
	}
}

// closeThen refuses new entries and runs finalize once no entry is left:
// now, or when the last current entry exits (on that goroutine). It does
// not wait. It reports whether this was the first close.
func (g *guard) closeThen(before, finalize func()) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	if before != nil {
		before()
	}
	if g.users > 0 {
		g.finalize = finalize
		g.mu.Unlock()
		return true
	}
	g.mu.Unlock()
	finalize()
	return true
}

// close reports whether this was the first close; it returns once no entry
// is left. before runs under the lock right after the object is marked
// closed, before the wait.
func (g *guard) close(before func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	if before != nil {
		before()
	}
	if g.idle.L == nil {
		g.idle.L = &g.mu
	}
	for g.users > 0 {
		g.idle.Wait()
	}
	return true
}
