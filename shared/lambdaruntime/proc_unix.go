//go:build unix

package lambdaruntime

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the runtime in its own process group so that a kill
// also reaches anything it started (a shell bootstrap's child, a helper).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup sends SIGKILL to the runtime's whole process group.
func killProcessGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	// The group may not exist (already reaped); fall back to the leader.
	if kerr := p.Kill(); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
		return errors.Join(err, kerr)
	}
	return nil
}
