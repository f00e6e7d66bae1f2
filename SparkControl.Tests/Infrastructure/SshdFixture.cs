using System.Diagnostics;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A private OpenSSH server on 127.0.0.1 with its own host key and one authorized client key, logged into as the
/// user running the tests. Sessions see a PATH prefix directory tests can fill with stand-in scripts, and a HOME of their
/// own: the machine's shell profile (on the build machine, ~/.bashrc runs pyenv, whose lock a killed command can leave
/// behind) and its home directory stay out of the tests, and what remote commands write under ~ is removed with the fixture.
/// </summary>
public sealed class SshdFixture : IAsyncLifetime, IAsyncDisposable
{
    private readonly TempDirectory _directory = new("sc-sshd");
    private readonly bool _sessionPathFromBin;
    private readonly int? _requestedPort;
    private readonly SshdFixture? _sameIdentityAs;
    private readonly int _maxSessions;
    private readonly (string Source, string Target)? _mountOver;
    private Process? _process;

    public SshdFixture()
        : this(sessionPathFromBin: false)
    {
    }

    /// <param name="sessionPathFromBin">Put <see cref="BinDirectory"/> first on every session's PATH (for a worker Spark reached by a script's own ssh).</param>
    /// <param name="port">Listen on this port instead of a free one (a Spark that comes back).</param>
    /// <param name="sameIdentityAs">Reuse another server's host key and authorized key, so it passes for the same machine.</param>
    /// <param name="maxSessions">Channels one connection may open; 10 is OpenSSH's default, what a Spark has.</param>
    /// <param name="mountOver">
    /// Run the server in a mount namespace of its own where <c>Source</c> is bind-mounted over <c>Target</c>: its sessions
    /// see another directory at the same path, as a second Spark has its own disk behind the same path.
    /// </param>
    internal SshdFixture(bool sessionPathFromBin, int? port = null, SshdFixture? sameIdentityAs = null, int maxSessions = 100, (string Source, string Target)? mountOver = null)
    {
        _mountOver = mountOver;
        _sessionPathFromBin = sessionPathFromBin;
        _requestedPort = port;
        _sameIdentityAs = sameIdentityAs;
        _maxSessions = maxSessions;
    }

    public string Host => "127.0.0.1";
    public int Port { get; private set; }
    public string User => Environment.UserName;
    public string ClientKeyPath => _directory.File("client_ed25519");
    public string HostKeyPath => _directory.File("host_ed25519");
    public string HostPublicKey { get; private set; } = string.Empty;

    /// <summary>HOME for every session (sshd's SetEnv overrides the account's home directory).</summary>
    public string Home => _directory.File("home");

    /// <summary>The listening sshd's pid; each connection is served by a child of it.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>A directory for stand-in programs (nvidia-smi, hf, launch-cluster.sh), put first on PATH by the panel.</summary>
    public string BinDirectory => _directory.File("bin");

    /// <summary>The server's log (<c>sshd -e</c>), for diagnosing a failed test.</summary>
    public string LogPath => _directory.File("sshd.log");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory("/run/sshd");
        Directory.CreateDirectory(BinDirectory);
        Directory.CreateDirectory(Home);
        if (_sameIdentityAs is { } twin)
        {
            foreach (var (from, to) in new[] { (twin.HostKeyPath, HostKeyPath), (twin.ClientKeyPath, ClientKeyPath) })
            {
                File.Copy(from, to);
                File.Copy(from + ".pub", to + ".pub");
                File.SetUnixFileMode(to, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        else
        {
            await Keygen(HostKeyPath);
            await Keygen(ClientKeyPath);
        }

        HostPublicKey = (await File.ReadAllTextAsync(HostKeyPath + ".pub")).Trim();
        await File.WriteAllTextAsync(_directory.File("authorized_keys"), await File.ReadAllTextAsync(ClientKeyPath + ".pub"));
        Port = _requestedPort ?? Tools.FreePort();
        var config = _directory.File("sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {HostKeyPath}
            PidFile {_directory.File("sshd.pid")}
            AuthorizedKeysFile {_directory.File("authorized_keys")}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            UsePAM no
            StrictModes no
            MaxSessions {_maxSessions}
            MaxStartups 100:30:200
            LogLevel INFO
            SetEnv HOME={Home}{(_sessionPathFromBin ? $" PATH={BinDirectory}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : string.Empty)}
            """);
        await StartProcessAsync();
    }

    private async Task StartProcessAsync()
    {
        string[] sshd = [Tools.Sshd, "-D", "-e", "-f", _directory.File("sshd_config")];
        // unshare and sh exec into sshd: the process started is the server, as without a namespace.
        string[] command = _mountOver is { } mount
            ? ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"", "sshd-mount", mount.Source, mount.Target, .. sshd]
            : sshd;
        var info = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        _process?.Dispose();
        _process = Process.Start(info)!;
        var process = _process;
        var log = new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        _ = Task.Run(async () =>
        {
            using (log)
            {
                while (await process.StandardError.ReadLineAsync() is { } line)
                {
                    await log.WriteLineAsync(line);
                }
            }
        });
        await Wait.UntilAsync(() => Tools.AcceptsConnectionsAsync(Port), "sshd accepts connections", TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// Kills the server and every connection it serves (each sshd process), as a crash would; the commands the
    /// connections ran are not killed, as they are not when sshd dies. <see cref="RestartAsync"/> brings it back.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        await KillConnectionsAsync();
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>SIGKILL to every sshd process below the listener (those serving connections); how many there were.</summary>
    private async Task<int> KillConnectionsAsync()
    {
        var sshds = ProcFs.Descendants(ProcessId).Where(pid => ProcFs.Comm(pid).StartsWith("sshd", StringComparison.Ordinal)).ToList();
        foreach (var pid in sshds)
        {
            await ProcessRunner.RunAsync("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        return sshds.Count;
    }

    /// <summary>Starts the server again on the same port with the same keys (the machine is back).</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>
    /// Puts the client key where an operator's upload puts it (the data directory's ssh-keys/, 0600) and returns its path
    /// for a Spark's keyPath.
    /// </summary>
    public string InstallClientKey(string dataDirectory, string fileName = "id_ed25519")
    {
        var directory = Path.Combine(dataDirectory, SparkControl.Core.Remote.SshKeyFiles.DirectoryName);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        File.Copy(ClientKeyPath, path, overwrite: true);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>
    /// Cuts every open connection as a network fault or a crashed session would: each connection's own sshd process
    /// (a child of the listener) is killed; the listener stays, so clients can connect again. Returns how many were cut.
    /// </summary>
    public Task<int> DropConnectionsAsync() => KillConnectionsAsync();

    /// <summary>How many logins the server has accepted so far (from its log).</summary>
    public int AcceptedLogins
    {
        get
        {
            using var log = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(log);
            return reader.ReadToEnd().Split('\n').Count(l => l.Contains("Accepted publickey", StringComparison.Ordinal));
        }
    }

    /// <summary>Writes an executable script into <see cref="BinDirectory"/>.</summary>
    public string AddScript(string name, string content) => WriteScript(Path.Combine(BinDirectory, name), content);

    /// <summary>Writes an executable script.</summary>
    public static string WriteScript(string path, string content)
    {
        File.WriteAllText(path, content.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    private static Task Keygen(string path) =>
        ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", "ed25519", "-N", string.Empty, "-f", path]).ContinueWith(t => t.Result.EnsureSuccess("ssh-keygen"), TaskScheduler.Default);

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _process = null;
        _directory.Dispose();
        return Task.CompletedTask;
    }
}
