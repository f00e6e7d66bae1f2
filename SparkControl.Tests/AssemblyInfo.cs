// The tests drive Linux programs (sshd, dockerd, chromium) and Linux file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
