using System.Diagnostics;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A private Docker daemon (Debian docker.io) with its own socket, data root and exec root, no bridge and no
/// iptables, and the simulator's image made locally by eng/make-sim-image.sh with <c>docker import</c>: there is no
/// registry to pull from. Containers run with <c>--network host</c> and <see cref="HostRuntimeMounts"/>.
/// </summary>
public sealed class DockerdFixture : IAsyncLifetime
{
    public const string BaseImage = "sparkcontrol/sim:test";

    // Short: a unix socket path must stay under 108 bytes.
    private readonly string _root = Path.Combine("/tmp", $"scd-{Guid.NewGuid().ToString("N")[..8]}");
    private Process? _daemon;

    public string Socket => Path.Combine(_root, "docker.sock");
    public string Host => $"unix://{Socket}";
    public string LogPath => Path.Combine(_root, "dockerd.log");

    /// <summary>
    /// Bind mounts that make the host's programs, its .NET and the simulator (this test run's build output, which holds
    /// SparkControl.Sim.dll) run inside a container of <see cref="BaseImage"/>.
    /// </summary>
    public static IReadOnlyList<string> HostRuntimeMounts => ["/usr:/usr:ro", $"{Tools.DotnetRoot}:/opt/dotnet:ro", $"{AppContext.BaseDirectory.TrimEnd('/')}:/sim/app:ro"];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        await StartDaemonAsync();
        await ImportBaseImageAsync();
    }

    private async Task StartDaemonAsync()
    {
        var info = new ProcessStartInfo(Tools.Dockerd) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[]
                 {
                     "--host", Host, "--data-root", Path.Combine(_root, "data"), "--exec-root", Path.Combine(_root, "exec"),
                     "--pidfile", Path.Combine(_root, "docker.pid"), "--bridge=none", "--iptables=false", "--ip6tables=false",
                     "--log-level=warn",
                 })
        {
            info.ArgumentList.Add(argument);
        }

        _daemon?.Dispose();
        var daemon = _daemon = Process.Start(info)!;
        var log = TextWriter.Synchronized(new StreamWriter(new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true });
        _ = Task.Run(async () =>
        {
            while (await daemon.StandardError.ReadLineAsync() is { } line)
            {
                await log.WriteLineAsync(line);
            }
        });
        _ = Task.Run(async () =>
        {
            while (await daemon.StandardOutput.ReadLineAsync() is { } line)
            {
                await log.WriteLineAsync(line);
            }
        });
        await Wait.UntilAsync(async () => (await DockerAsync(["version", "--format", "{{.Server.Version}}"], check: false)).ExitCode == 0, "dockerd answers", TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Restarts dockerd as <c>systemctl restart docker</c> would: SIGTERM (it stops the containers it runs), then the
    /// same daemon again; returns once it answers. <paramref name="whileStopped"/> runs in between.
    /// </summary>
    public async Task RestartAsync(Func<Task>? whileStopped = null)
    {
        await StopDaemonAsync();
        if (whileStopped is not null)
        {
            await whileStopped();
        }

        await StartDaemonAsync();
    }

    private async Task StopDaemonAsync()
    {
        if (_daemon is { HasExited: false } daemon)
        {
            // SIGTERM lets dockerd unmount its layers and stop containerd.
            await ProcessRunner.RunAsync("/bin/kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            if (!daemon.WaitForExit(60_000))
            {
                daemon.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Runs the docker CLI against this daemon.</summary>
    public async Task<ProcessRunner.Result> DockerAsync(IEnumerable<string> arguments, bool check = true, string? stdin = null, TimeSpan? timeout = null)
    {
        var result = await ProcessRunner.RunAsync(Tools.Docker, ["-H", Host, .. arguments], timeout ?? TimeSpan.FromMinutes(2), stdin: stdin);
        return check ? result.EnsureSuccess($"docker {string.Join(' ', arguments)}") : result;
    }

    /// <summary>A shell script that runs docker against this daemon, for a PATH prefix the panel's SSH sessions use.</summary>
    /// <remarks>Its own DOCKER_CONFIG, so a test's <c>docker login</c> never touches the machine's credentials.</remarks>
    public string WrapperScript => $"#!/bin/sh\nDOCKER_CONFIG={Path.Combine(_root, "config")}; export DOCKER_CONFIG\nexec {Tools.Docker} -H {Host} \"$@\"\n";

    /// <summary>Where the wrapper's docker CLI keeps its configuration (registry logins).</summary>
    public string ConfigDirectory => Path.Combine(_root, "config");

    /// <summary>Makes <see cref="BaseImage"/> with the project's own script, exactly as the README tells operators to.</summary>
    private async Task ImportBaseImageAsync()
    {
        var script = Path.Combine(Tools.RepositoryRoot, "eng", "make-sim-image.sh");
        var result = await ProcessRunner.RunAsync("/bin/bash", [script, BaseImage], environment: new Dictionary<string, string?> { ["DOCKER_HOST"] = Host, ["DOCKER"] = Tools.Docker });
        result.EnsureSuccess("eng/make-sim-image.sh");
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            var containers = await DockerAsync(["ps", "-aq"], check: false);
            var ids = containers.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (ids.Length > 0)
            {
                await DockerAsync(["rm", "-f", .. ids], check: false);
            }

            await StopDaemonAsync();
            _daemon.Dispose();
        }

        await UnmountUnderAsync(_root);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>dockerd leaves bind mounts (the netns) under its exec root; unmount them deepest first.</summary>
    private static async Task UnmountUnderAsync(string root)
    {
        var mounts = (await File.ReadAllLinesAsync("/proc/mounts"))
            .Select(line => line.Split(' ')[1])
            .Where(point => point.StartsWith(root, StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            await ProcessRunner.RunAsync("/bin/umount", ["-l", point]);
        }
    }
}
