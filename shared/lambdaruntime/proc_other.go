//go:build !unix

package lambdaruntime

import (
	"errors"
	"os"
	"os/exec"
)

// Without Unix process groups only the runtime process itself can be killed.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(p *os.Process) error {
	if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
