using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>
/// The exact docker command lines, as argv lists. <c>DockerSparkHost</c> runs these and the UI previews these, so
/// what the operator sees is what runs.
/// </summary>
public static class DockerCommands
{
    public static ValueArray<string> Ps() => ["docker", "ps", "-a", "--no-trunc", "--format", "{{json .}}"];

    public static ValueArray<string> Inspect(string container) => ["docker", "inspect", "--type", "container", "--", container];

    public static ValueArray<string> Start(string container) => ["docker", "start", "--", container];

    public static ValueArray<string> Stop(string container, TimeSpan grace) =>
        ["docker", "stop", "-t", ((int)Math.Ceiling(grace.TotalSeconds)).ToString(CultureInfo.InvariantCulture), "--", container];

    public static ValueArray<string> Remove(string container) => ["docker", "rm", "--", container];

    public static ValueArray<string> Logs(string container, LogQuery query, bool follow)
    {
        var argv = ImmutableArray.CreateBuilder<string>();
        argv.AddRange("docker", "logs");
        if (follow)
        {
            argv.Add("--follow");
        }

        if (query.Timestamps)
        {
            argv.Add("--timestamps");
        }

        argv.Add("--tail");
        argv.Add(query.Tail is { } tail ? tail.ToString(CultureInfo.InvariantCulture) : "all");
        if (query.Since is { } since)
        {
            argv.Add("--since");
            argv.Add(since.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
        }

        argv.Add("--");
        argv.Add(container);
        return argv.ToImmutable();
    }

    /// <summary>Equal memory and swap limits mean no swap at all (swap thrash on very long audio is worse than an OOM).</summary>
    public static ValueArray<string> UpdateMemory(string container, long memoryBytes, long swapBytes) =>
    [
        "docker", "update", "--memory", memoryBytes.ToString(CultureInfo.InvariantCulture),
        "--memory-swap", swapBytes.ToString(CultureInfo.InvariantCulture), "--", container,
    ];

    /// <summary><c>docker login REGISTRY --username USER --password-stdin</c>: the password only ever travels on stdin.</summary>
    public static ValueArray<string> Login(string registry, string username) =>
        ["docker", "login", registry, "--username", username, "--password-stdin"];

    /// <summary><c>docker pull IMAGE</c>: without a terminal the CLI prints one line per layer event, no byte counts.</summary>
    public static ValueArray<string> Pull(string image) => ["docker", "pull", "--", image];

    /// <summary>
    /// <c>docker manifest inspect -v IMAGE</c>: the image's layers and their compressed sizes, read from the registry
    /// without pulling. <c>--insecure</c> only for a registry on loopback, which docker itself reaches over plain HTTP.
    /// </summary>
    public static ValueArray<string> ManifestInspect(string image, bool insecure) =>
        insecure ? ["docker", "manifest", "inspect", "-v", "--insecure", "--", image] : ["docker", "manifest", "inspect", "-v", "--", image];

    /// <summary>
    /// The engine's machine architecture (<c>aarch64</c> on a Spark) on one line, then where it keeps images
    /// (<c>/var/lib/docker</c> unless configured): which platform a pull takes, and the disk it fills.
    /// </summary>
    public static ValueArray<string> ImageStore() => ["docker", "info", "--format", "{{println .Architecture}}{{.DockerRootDir}}"];

    /// <summary>
    /// <c>rsync</c> of a directory to the same path on another machine over SSH, run on the machine that has it:
    /// <c>--partial</c> keeps a file cut short so a second run resumes it, <c>--mkpath</c> makes the missing parents
    /// there, and <c>BatchMode</c> makes a missing key or unknown host key fail at once instead of waiting for a password.
    /// Nothing there is deleted: files only the other side has are kept.
    /// </summary>
    public static ValueArray<string> CopyDirectory(string source, string targetHost, string targetPath)
    {
        // rsync reads HOST:PATH; an IPv6 address goes in brackets.
        var host = targetHost.Contains(':', StringComparison.Ordinal) ? $"[{targetHost}]" : targetHost;
        return ["rsync", "--archive", "--partial", "--mkpath", "--rsh=ssh -o BatchMode=yes", "--", source.TrimEnd('/') + "/", $"{host}:{targetPath.TrimEnd('/')}/"];
    }

    /// <summary><c>docker run -d ...</c> for <paramref name="spec"/>; options first, then the image and its arguments.</summary>
    /// <remarks>Internal: a launch's argv is made once, by <see cref="ContainerLaunch.Of"/>.</remarks>
    internal static ValueArray<string> Run(ContainerLaunchSpec spec)
    {
        var argv = ImmutableArray.CreateBuilder<string>();
        argv.AddRange("docker", "run", "-d", "--name", spec.Name);
        AddResources(argv, spec);
        AddMountsEnvironmentAndLabels(argv, spec);
        if (spec.Entrypoint is { } entrypoint)
        {
            argv.AddRange("--entrypoint", entrypoint);
        }

        argv.Add(spec.Image);
        argv.AddRange(spec.Command);
        return argv.ToImmutable();
    }

    /// <summary>GPUs, network, IPC, shared memory and the memory cap.</summary>
    private static void AddResources(ImmutableArray<string>.Builder argv, ContainerLaunchSpec spec)
    {
        if (spec.Gpus is { } gpus)
        {
            argv.AddRange("--gpus", gpus);
        }

        if (spec.HostNetwork)
        {
            argv.AddRange("--network", "host");
        }

        if (spec.HostIpc)
        {
            argv.Add("--ipc=host");
        }

        if (spec.RemoveOnExit)
        {
            argv.Add("--rm");
        }

        if (spec.ShmSizeBytes is { } shm)
        {
            argv.AddRange("--shm-size", shm.ToString(CultureInfo.InvariantCulture));
        }

        if (spec.MemoryLimitBytes is { } memory)
        {
            argv.AddRange("--memory", memory.ToString(CultureInfo.InvariantCulture));
            argv.AddRange("--memory-swap", (spec.MemorySwapLimitBytes ?? memory).ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void AddMountsEnvironmentAndLabels(ImmutableArray<string>.Builder argv, ContainerLaunchSpec spec)
    {
        foreach (var mount in spec.Mounts)
        {
            argv.AddRange("-v", $"{mount.HostPath}:{mount.ContainerPath}{(mount.ReadOnly ? ":ro" : string.Empty)}");
        }

        foreach (var (key, value) in spec.Environment)
        {
            argv.AddRange("-e", $"{key}={value}");
        }

        if (spec.EnvFile is { } envFile)
        {
            argv.AddRange("--env-file", envFile);
        }

        foreach (var (key, value) in spec.Labels)
        {
            argv.AddRange("--label", $"{key}={value}");
        }
    }
}
