using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;

namespace SparkControl.Core.Hosts;

/// <summary>
/// A real Spark: Docker, nvidia-smi, /proc/meminfo, du, df, hf and launch-cluster.sh driven by commands over SSH.
/// Every command is an argv list built here or in <see cref="DockerCommands"/> / <see cref="LaunchClusterCommands"/>.
/// </summary>
public sealed partial class DockerSparkHost(SparkDefinition spark, IRemoteShell shell, SecretStore secrets, TimeProvider time, TimeSpan gpuSampleInterval) : ISparkHost, IAsyncDisposable
{
    /// <summary>Where secrets for containers are written on the Spark, under the login user's home.</summary>
    public const string SecretsDirectory = "~/.config/sparkcontrol";

    /// <summary>A detached host action's state on the Spark: action, started, pid, log, and exit once it has ended.</summary>
    public const string HostActionDirectory = "~/.local/state/sparkcontrol/host-action";

    /// <summary>Exit status of the start script when an action runs already.</summary>
    private const int HostActionBusy = 75;

    /// <summary>Made on first use: its followers and tails are this host's own log commands.</summary>
    private ContainerLogFeeds? _logFeeds;

    // The scripts are constant; the state directory, the action's name and its argv are their arguments. setsid puts
    // the action in its own session: neither the end of the SSH session nor the kill of the caller's process group
    // (a viewer that leaves) reaches it.
    private const string HostActionStartScript = """
        d="$1"; action="$2"; shift 2
        mkdir -p -- "$d" && chmod 700 -- "$d" || exit 1
        if [ -f "$d/pid" ] && [ ! -f "$d/exit" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then
          echo "$(cat "$d/action") is already running (pid $(cat "$d/pid"))" >&2; exit 75
        fi
        rm -f -- "$d/exit" "$d/exit.tmp" "$d/pid"
        printf '%s\n' "$action" > "$d/action"
        date +%s > "$d/started"
        : > "$d/log"
        setsid sh -c 'd="$1"; shift; "$@" >>"$d/log" 2>&1 </dev/null; echo $? > "$d/exit.tmp"; mv -f -- "$d/exit.tmp" "$d/exit"' sh "$d" "$@" </dev/null >/dev/null 2>&1 &
        echo $! > "$d/pid"
        """;

    private const string HostActionStateScript = """
        d="$1"
        [ -f "$d/action" ] || exit 0
        printf 'action=%s\nstarted=%s\n' "$(cat "$d/action")" "$(cat "$d/started" 2>/dev/null)"
        if [ -f "$d/exit" ]; then printf 'exit=%s\n' "$(cat "$d/exit")"
        elif [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then echo running
        else echo lost; fi
        """;

    // tail ends (after a last read) once the action's process is gone; its lines are the log from the first.
    private const string HostActionFollowScript = """
        d="$1"
        [ -f "$d/pid" ] || { echo "no host action has run on this Spark" >&2; exit 3; }
        exec tail -n +1 -s 0.2 --pid="$(cat "$d/pid")" -F -- "$d/log" 2>/dev/null
        """;

    /// <summary>How long dockerd may take to remove an exited <c>--rm</c> container before the panel reports it stuck.</summary>
    private static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(30);

    private string? _home;

    public string Name => spark.Name;

    public SparkDefinition Definition => spark;

    public IRemoteShell Shell => shell;

    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read([.. DockerCommands.Ps()]), cancellationToken).ConfigureAwait(false);
        return DockerJson.ParsePs(result.EnsureSuccess(Name, "docker ps").Stdout);
    }

    public async Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read([.. DockerCommands.Inspect(container)]), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded && IsNoSuchContainer(result))
        {
            return null;
        }

        return DockerJson.ParseInspect(result.EnsureSuccess(Name, $"docker inspect {container}").Stdout);
    }

    public async Task<string> RunContainerAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Action([.. launch.Argv]) with { Timeout = TimeSpan.FromMinutes(10) }, cancellationToken).ConfigureAwait(false);
        return result.EnsureSuccess(Name, $"docker run {launch.Spec.Name}").Stdout.Trim();
    }

    public async Task StartContainerAsync(string container, CancellationToken cancellationToken) =>
        (await RunAsync(RemoteCommand.Action([.. DockerCommands.Start(container)]), cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, $"docker start {container}");

    public async Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Action([.. DockerCommands.Stop(container, grace)]) with { Timeout = grace + TimeSpan.FromMinutes(1), Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, $"docker stop {container}");
    }

    /// <summary>
    /// <c>docker rm</c>, done when the name is free: a container already gone counts as removed, and one that dockerd is
    /// removing already (an <c>--rm</c> container that has just exited) is waited for.
    /// </summary>
    public async Task RemoveContainerAsync(string container, CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Action([.. DockerCommands.Remove(container)]) with { Idempotent = true }, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded || IsNoSuchContainer(result))
        {
            return;
        }

        if (!result.Stderr.Contains("already in progress", StringComparison.OrdinalIgnoreCase))
        {
            result.EnsureSuccess(Name, $"docker rm {container}");
        }

        await WaitUntilRemovedAsync(container, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns once no container of that name exists. <c>docker stop</c> returns when an <c>--rm</c> container has exited,
    /// and dockerd removes it a moment later: until then a new container cannot take its name. A stopped container that
    /// is not <c>--rm</c> is removed here.
    /// </summary>
    private async Task WaitUntilRemovedAsync(string container, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(25);
        while (await InspectContainerAsync(container, cancellationToken).ConfigureAwait(false) is { } info)
        {
            if (info.Running)
            {
                throw new SparkCommandException(Name, $"{container} still runs on {Name} after it was stopped; stop it on the Spark ('docker stop {container}') and try again.", 1, string.Empty);
            }

            if (!info.AutoRemove && info.Status != ContainerStatus.Removing)
            {
                await RemoveContainerAsync(container, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (time.GetElapsedTime(started) > RemovalTimeout)
            {
                throw new SparkCommandException(Name, $"dockerd on {Name} has not removed the stopped container {container} in {RemovalTimeout.TotalSeconds:0} s; check 'docker ps -a' there, remove it with 'docker rm -f {container}' and try again.", 1, string.Empty);
            }

            await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    public async Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Read([.. DockerCommands.Logs(container, query, follow: false)]) with { MergeStderr = true };
        var result = await RunAsync(command, cancellationToken).ConfigureAwait(false);
        var lines = result.EnsureSuccess(Name, $"docker logs {container}").Stdout.Split('\n');
        return lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
    }

    public IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, CancellationToken cancellationToken) =>
        shell.StreamAsync(RemoteCommand.Read([.. DockerCommands.Logs(container, query, follow: true)]) with { MergeStderr = true }, cancellationToken);

    /// <summary>Every viewer of a container shares one <c>docker logs --follow</c>: SSH channels are few.</summary>
    public IAsyncEnumerable<string> WatchLogsAsync(string container, int tail, CancellationToken cancellationToken) =>
        LazyInitializer.EnsureInitialized(ref _logFeeds, () => new ContainerLogFeeds(
            (name, token) => FollowLogsAsync(name, new LogQuery(ContainerLogFeeds.Backlog, Timestamps: true), token),
            (name, lines, token) => GetLogsAsync(name, new LogQuery(lines, Timestamps: true), token)))
        .WatchAsync(container, tail, cancellationToken);

    /// <summary>One long-lived <c>nvidia-smi -lms</c> stream, run with TZ=UTC so its zone-less timestamps are UTC.</summary>
    public async IAsyncEnumerable<GpuSample> WatchGpuAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Read(
            "env", "TZ=UTC", "nvidia-smi", $"--query-gpu={string.Join(',', NvidiaSmi.SampleFields)}", "--format=csv,noheader,nounits",
            "-lms", ((int)gpuSampleInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        await foreach (var line in shell.StreamAsync(command, cancellationToken).ConfigureAwait(false))
        {
            if (NvidiaSmi.ParseSample(line, NvidiaSmi.SampleFields) is { } sample)
            {
                yield return sample;
            }
        }
    }

    public async Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read("nvidia-smi", $"--query-compute-apps={string.Join(',', NvidiaSmi.ComputeAppFields)}", "--format=csv,noheader,nounits"), cancellationToken).ConfigureAwait(false);
        return NvidiaSmi.ParseComputeApps(result.EnsureSuccess(Name, "nvidia-smi --query-compute-apps").Stdout);
    }

    public async Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read("cat", "/proc/meminfo"), cancellationToken).ConfigureAwait(false);
        return Meminfo.Parse(result.EnsureSuccess(Name, "cat /proc/meminfo").Stdout);
    }

    /// <summary><c>du -sbL</c>: apparent size following symlinks, each inode once, so an HF cache repo is measured right.</summary>
    public async Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken)
    {
        var target = await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false);
        var result = await RunAsync(RemoteCommand.Read("du", "-sbL", "--", target) with { Timeout = TimeSpan.FromMinutes(10) }, cancellationToken).ConfigureAwait(false);
        var first = result.Stdout.Split('\t', '\n')[0];
        if (long.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes))
        {
            return bytes;
        }

        return result.Stderr.Contains("No such file", StringComparison.Ordinal) ? null : throw new SparkCommandException(Name, $"du {target} failed on {Name}: {result.Stderr.Trim()}", result.ExitCode, result.Stderr);
    }

    public async Task<DiskSpace?> GetDiskSpaceAsync(string path, CancellationToken cancellationToken)
    {
        var target = await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false);
        var result = await RunAsync(RemoteCommand.Read("df", "-B1", "--output=size,avail,target", "--", target), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return null;
        }

        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).FirstOrDefault();
        var parts = line?.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        return parts is { Length: 3 } && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var size) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var available)
            ? new DiskSpace(size, available, parts[2])
            : null;
    }

    public async Task<bool> PathExistsAsync(string path, CancellationToken cancellationToken) =>
        (await RunAsync(RemoteCommand.Read("test", "-e", await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false)).Succeeded;

    public async Task<string?> RealPathAsync(string path, CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read("realpath", "-e", "--", await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.Stdout.TrimEnd('\n') : null;
    }

    public async Task<IReadOnlyList<DirectoryEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        var target = await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false);
        var result = await RunAsync(RemoteCommand.Read("find", target, "-mindepth", "1", "-maxdepth", "1", "-printf", "%y\\t%Y\\t%s\\t%f\\0"), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            return [];
        }

        var entries = new List<DirectoryEntry>();
        foreach (var record in result.Stdout.TrimEnd('\n').Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = record.Split('\t', 4);
            if (parts.Length == 4 && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var size))
            {
                entries.Add(new DirectoryEntry(parts[3], parts[1] == "d", parts[0] == "l", size));
            }
        }

        return entries;
    }

    public async Task<string?> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read("head", "-c", maxBytes.ToString(CultureInfo.InvariantCulture), "--", await ExpandHomeAsync(path, cancellationToken).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.Stdout : null;
    }

    /// <summary>Removes one model folder of the HF cache; both parts are checked again here, whoever asked.</summary>
    public async Task RemoveHfCacheFolderAsync(string hubPath, string folder, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Action([.. RemoveHfCacheFolderArgv(hubPath, folder)]) with { Timeout = TimeSpan.FromMinutes(10), Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, $"removing {folder}");
    }

    /// <summary>
    /// <c>rm -rf -- HUB/FOLDER</c>: one exact path, no glob, no shell. A folder that is a symlink loses the link only
    /// (no trailing slash), never what it points at.
    /// </summary>
    public static IReadOnlyList<string> RemoveHfCacheFolderArgv(string hubPath, string folder)
    {
        if (Validation.Validators.AbsolutePath(hubPath, "hub") is { } hubError)
        {
            throw new ArgumentException(hubError, nameof(hubPath));
        }

        if (Validation.Validators.HfCacheFolder(folder) is { } folderError)
        {
            throw new ArgumentException(folderError, nameof(folder));
        }

        return ["rm", "-rf", "--", $"{hubPath.TrimEnd('/')}/{folder}"];
    }

    public async Task<string> ExpandHomeAsync(string path, CancellationToken cancellationToken)
    {
        if (path != "~" && !path.StartsWith("~/", StringComparison.Ordinal))
        {
            return path;
        }

        if (_home is null)
        {
            var result = await RunAsync(RemoteCommand.Read("printenv", "HOME"), cancellationToken).ConfigureAwait(false);
            _home = result.EnsureSuccess(Name, "printenv HOME").Stdout.Trim();
        }

        return _home + path[1..];
    }

    public async Task UpdateMemoryLimitAsync(string container, long memoryBytes, long swapBytes, CancellationToken cancellationToken) =>
        (await RunAsync(RemoteCommand.Action([.. DockerCommands.UpdateMemory(container, memoryBytes, swapBytes)]) with { Idempotent = true }, cancellationToken).ConfigureAwait(false))
            .EnsureSuccess(Name, $"docker update {container}");

    public async Task<string> WriteSecretsEnvFileAsync(IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken)
    {
        var content = new StringBuilder();
        foreach (var (key, value) in variables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (!EnvNamePattern().IsMatch(key) || value.Any(char.IsControl))
            {
                throw new ArgumentException($"'{key}' cannot go into an env file: names are A-Z, 0-9 and '_', values hold no line breaks.", nameof(variables));
            }

            content.Append(key).Append('=').Append(value).Append('\n');
        }

        var directory = await ExpandHomeAsync(SecretsDirectory, cancellationToken).ConfigureAwait(false);
        // The script is constant; the directory is its only argument; the secrets arrive on stdin.
        var command = RemoteCommand.Action(
            "sh", "-c", "umask 077 && mkdir -p -- \"$1\" && cat > \"$1/secrets.env.tmp\" && mv -f -- \"$1/secrets.env.tmp\" \"$1/secrets.env\"",
            "sparkcontrol-secrets", directory) with { Stdin = content.ToString(), Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "writing the secrets env file");
        return $"{directory}/secrets.env";
    }

    public async Task RemoveSecretsEnvFileAsync(CancellationToken cancellationToken)
    {
        var directory = await ExpandHomeAsync(SecretsDirectory, cancellationToken).ConfigureAwait(false);
        var command = RemoteCommand.Action("rm", "-f", "--", $"{directory}/secrets.env", $"{directory}/secrets.env.tmp") with { Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "removing the secrets env file");
    }

    public async Task RegistryLoginAsync(string registry, string username, string password, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Action([.. DockerCommands.Login(registry, username)]) with { Stdin = password, Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, $"docker login {registry}");
    }

    public async Task<RemoteImage> InspectRemoteImageAsync(string image, CancellationToken cancellationToken)
    {
        var store = (await RunAsync(RemoteCommand.Read([.. DockerCommands.ImageStore()]), cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "docker info");
        var lines = store.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var architecture = ImageManifests.DockerArchitecture(lines.ElementAtOrDefault(0) ?? string.Empty);
        var manifest = (await RunAsync(RemoteCommand.Read([.. DockerCommands.ManifestInspect(image, ImageRegistry.IsLoopback(image))]), cancellationToken).ConfigureAwait(false))
            .EnsureSuccess(Name, $"docker manifest inspect {image}");
        var (platform, layers, bytes) = ImageManifests.ForArchitecture(manifest.Stdout, architecture);
        var space = lines.ElementAtOrDefault(1) is { } root ? await GetDiskSpaceAsync(root, cancellationToken).ConfigureAwait(false) : null;
        return new RemoteImage(image, platform, layers, bytes, space);
    }

    public async IAsyncEnumerable<PullProgress> PullImageAsync(string image, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = new PullLineReader();
        var command = RemoteCommand.Action([.. DockerCommands.Pull(image)]) with { Timeout = TimeSpan.FromHours(6), MergeStderr = true };
        await foreach (var line in shell.StreamAsync(command, cancellationToken).ConfigureAwait(false))
        {
            if (reader.Read(line) is { } progress)
            {
                yield return progress;
            }
        }
    }

    public async Task CopyDirectoryAsync(string source, string targetHost, string targetPath, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Action([.. DockerCommands.CopyDirectory(source, targetHost, targetPath)]) with { Timeout = TimeSpan.FromHours(12) };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, $"rsync of {source} to {targetHost}");
    }

    public async IAsyncEnumerable<DownloadProgress> DownloadModelAsync(HfDownload download, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cache = await ExpandHomeAsync(download.HfCachePath, cancellationToken).ConfigureAwait(false);
        var folder = (download with { HfCachePath = cache }).CacheFolder;
        var progress = Channel.CreateUnbounded<DownloadProgress>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = RunAsync(new RemoteCommand { Argv = HfDownloadArgv(download, cache), Stdin = (secrets.Reveal(SecretStore.HfToken) ?? string.Empty) + "\n", Timeout = TimeSpan.FromHours(12) }, stop.Token);
        var poll = Task.Run(() => ReportSizeUntilDoneAsync(run, folder, download.ExpectedBytes, progress.Writer, stop.Token), CancellationToken.None);
        await foreach (var update in progress.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }

        await poll.ConfigureAwait(false);
        await EnsureDownloadedAsync(run, download, cache).ConfigureAwait(false);
        var done = await GetDiskUsageAsync(folder, cancellationToken).ConfigureAwait(false) ?? 0;
        yield return new DownloadProgress(done, download.ExpectedBytes ?? done, true);
    }

    private static string[] HfDownloadArgv(HfDownload download, string cache)
    {
        var argv = new List<string>
        {
            // The token comes on stdin and only lives in hf's environment; an empty line means none. The rest of stdin is
            // read to its end first (see RemoteCommand.Stdin).
            "sh", "-c", "IFS= read -r HF_TOKEN || true; cat >/dev/null; if [ -n \"$HF_TOKEN\" ]; then export HF_TOKEN; else unset HF_TOKEN; fi; exec hf download \"$@\"",
            "sparkcontrol-hf-download", download.Repo, "--cache-dir", $"{cache.TrimEnd('/')}/hub",
        };
        if (download.Revision is { } revision)
        {
            argv.AddRange(["--revision", revision]);
        }

        return [.. argv];
    }

    /// <summary>Measures the cache folder every second while the download runs, for its progress bar.</summary>
    private async Task ReportSizeUntilDoneAsync(Task run, string folder, long? expectedBytes, ChannelWriter<DownloadProgress> progress, CancellationToken stop)
    {
        try
        {
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(1), time, stop)).ConfigureAwait(false);
                if (!run.IsCompleted)
                {
                    var bytes = await GetDiskUsageAsync(folder, stop).ConfigureAwait(false) ?? 0;
                    await progress.WriteAsync(new DownloadProgress(bytes, expectedBytes, false), stop).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is SparkCommandException or SparkUnreachableException)
        {
            // A failed size probe only costs one progress update; the download itself decides the outcome.
        }
        finally
        {
            progress.TryComplete();
        }
    }

    /// <summary>The download's outcome, its two common failures (a dropped connection, a full disk) told in words an operator acts on.</summary>
    private async Task EnsureDownloadedAsync(Task<CommandResult> run, HfDownload download, string cache)
    {
        CommandResult result;
        try
        {
            result = await run.ConfigureAwait(false);
        }
        catch (SparkUnreachableException ex)
        {
            throw new SparkUnreachableException(Name, $"the connection to {Name} dropped during the download of {download.Repo}; what was fetched is kept on {Name} and the next swap resumes it once {Name} answers", ex);
        }

        // A full disk is the one download failure an operator fixes on the Spark itself: name the place.
        if (!result.Succeeded && (result.Stderr + result.Stdout).Contains("No space left on device", StringComparison.Ordinal))
        {
            throw new SparkCommandException(Name, $"the disk holding {cache} on {Name} filled up during the download of {download.Repo}: free space there and swap again (what was fetched is kept and the download resumes)", result.ExitCode, (result.Stdout + result.Stderr).Trim());
        }

        result.EnsureSuccess(Name, $"hf download {download.Repo}");
    }

    public async Task<ClusterState> LaunchClusterStatusAsync(LaunchClusterSettings settings, CancellationToken cancellationToken)
    {
        var report = await RunAsync(RemoteCommand.Read([.. LaunchClusterCommands.Status(settings)]) with { MergeStderr = true }, cancellationToken).ConfigureAwait(false);
        var head = await InspectContainerAsync(settings.ContainerName, cancellationToken).ConfigureAwait(false);
        var running = new Dictionary<string, bool>(StringComparer.Ordinal);
        var lines = report.Stdout.Split('\n');
        var nodes = settings.Nodes.IsEmpty ? ["localhost"] : settings.Nodes.ToList();
        for (var i = 0; i < nodes.Count; i++)
        {
            if (i == 0)
            {
                // The head's state comes from docker itself, not from the script's text.
                running[nodes[i]] = head?.Running == true;
                continue;
            }

            var line = lines.FirstOrDefault(l => l.Contains(nodes[i], StringComparison.Ordinal));
            running[nodes[i]] = line is not null && line.Contains("RUNNING", StringComparison.Ordinal) && !line.Contains("NOT running", StringComparison.OrdinalIgnoreCase);
        }

        return new ClusterState(settings.ContainerName, running, report.Stdout.Trim());
    }

    public async Task LaunchClusterStartAsync(ClusterLaunch launch, CancellationToken cancellationToken)
    {
        // The script reuses a running container instead of starting a fresh one: always stop it first.
        await LaunchClusterStopAsync(launch.Settings, cancellationToken).ConfigureAwait(false);
        var command = RemoteCommand.Action([.. launch.Argv]) with { Timeout = TimeSpan.FromMinutes(15), MergeStderr = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "launch-cluster.sh start");
    }

    public async Task LaunchClusterStopAsync(LaunchClusterSettings settings, CancellationToken cancellationToken)
    {
        var command = RemoteCommand.Action([.. LaunchClusterCommands.Stop(settings)]) with { Timeout = TimeSpan.FromMinutes(5), MergeStderr = true, Idempotent = true };
        (await RunAsync(command, cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "launch-cluster.sh stop");
        // The script's containers run with --rm: the next start (or a reboot's status check) must not find the old one.
        await WaitUntilRemovedAsync(settings.ContainerName, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> HasPasswordlessSudoAsync(CancellationToken cancellationToken) =>
        (await RunAsync(RemoteCommand.Read("sudo", "-n", "true"), cancellationToken).ConfigureAwait(false)).Succeeded;

    public IAsyncEnumerable<string> RunHostActionAsync(HostAction action, CancellationToken cancellationToken) =>
        shell.StreamAsync(new RemoteCommand { Argv = HostActionNames.Command(action), MergeStderr = true, Timeout = TimeSpan.FromHours(1) }, cancellationToken);

    public async Task StartHostActionAsync(HostAction action, CancellationToken cancellationToken)
    {
        var directory = await ExpandHomeAsync(HostActionDirectory, cancellationToken).ConfigureAwait(false);
        var result = await RunAsync(RemoteCommand.Action(["sh", "-c", HostActionStartScript, "sparkcontrol-host-action", directory, action.ToRoute(), .. HostActionNames.Command(action)]), cancellationToken).ConfigureAwait(false);
        if (result.ExitCode == HostActionBusy)
        {
            throw new HostActionRefusedException($"{Name}: {result.Stderr.Trim()}; its output is on the Host page. Wait for it to end.");
        }

        result.EnsureSuccess(Name, $"starting {HostActionNames.Describe(action)}");
    }

    public async Task<HostActionState?> GetHostActionStateAsync(CancellationToken cancellationToken)
    {
        var directory = await ExpandHomeAsync(HostActionDirectory, cancellationToken).ConfigureAwait(false);
        var result = (await RunAsync(RemoteCommand.Read("sh", "-c", HostActionStateScript, "sparkcontrol-host-action", directory), cancellationToken).ConfigureAwait(false)).EnsureSuccess(Name, "reading the host action's state");
        var fields = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : string.Empty, StringComparer.Ordinal);
        if (HostActionNames.Parse(fields.GetValueOrDefault("action")) is not { } action)
        {
            return null;
        }

        DateTimeOffset? started = long.TryParse(fields.GetValueOrDefault("started"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
        return fields.TryGetValue("exit", out var exit) && int.TryParse(exit, NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            ? new HostActionState(action, started, HostActionProgress.Ended, code)
            : new HostActionState(action, started, fields.ContainsKey("running") ? HostActionProgress.Running : HostActionProgress.Lost, null);
    }

    public async IAsyncEnumerable<string> FollowHostActionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = await ExpandHomeAsync(HostActionDirectory, cancellationToken).ConfigureAwait(false);
        // apt-get upgrade may run for an hour and more; the follow ends with it.
        var command = new RemoteCommand { Argv = ["sh", "-c", HostActionFollowScript, "sparkcontrol-host-action", directory], Timeout = TimeSpan.FromHours(6) };
        await foreach (var line in shell.StreamAsync(command, cancellationToken).ConfigureAwait(false))
        {
            yield return line;
        }
    }

    public async Task<HostCheckOutput> RunHostCheckAsync(HostCheck check, CancellationToken cancellationToken)
    {
        // fwupdmgr may refresh nothing yet still wait on its daemon; two minutes is long for a check, short for a hang.
        var command = RemoteCommand.Read([.. HostChecks.Command(check)]) with { Timeout = TimeSpan.FromMinutes(2) };
        var result = await RunAsync(command, cancellationToken).ConfigureAwait(false);
        return new HostCheckOutput(result.ExitCode, result.Stdout, result.Stderr);
    }

    public async Task<HostFacts> GetHostFactsAsync(CancellationToken cancellationToken)
    {
        var result = await RunAsync(RemoteCommand.Read("sh", "-c", HostFacts.Script), cancellationToken).ConfigureAwait(false);
        return HostFacts.Parse(result.EnsureSuccess(Name, "reading host facts").Stdout);
    }

    public Uri GetEndpoint(int port) =>
        new($"http://{(spark.Host.Contains(':', StringComparison.Ordinal) ? $"[{spark.Host}]" : spark.Host)}:{port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>Runs a command; a docker command whose daemon does not answer fails as such, whatever the caller expected.</summary>
    private async Task<CommandResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken)
    {
        var result = await shell.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded && command.Argv.Count > 0 && command.Argv[0] == "docker" && DockerUnavailableException.Says(result.Stderr + result.Stdout))
        {
            throw new DockerUnavailableException(Name, $"dockerd on {Name} does not answer (stopped or restarting): '{string.Join(' ', command.Argv.Take(2))}' failed: {(result.Stderr + result.Stdout).Trim().Split('\n')[^1]}", result.ExitCode, (result.Stdout + result.Stderr).Trim());
        }

        return result;
    }

    private static bool IsNoSuchContainer(CommandResult result) =>
        result.Stderr.Contains("No such container", StringComparison.OrdinalIgnoreCase) || result.Stderr.Contains("No such object", StringComparison.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        if (_logFeeds is { } feeds)
        {
            await feeds.DisposeAsync().ConfigureAwait(false);
        }

        await shell.DisposeAsync().ConfigureAwait(false);
    }

    [GeneratedRegex("^[A-Z_][A-Z0-9_]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNamePattern();
}
