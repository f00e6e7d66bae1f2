using System.Collections.Immutable;
using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>
/// The command lines for eugr's launch-cluster.sh. Every call names the same nodes (<c>-n</c>, or <c>--solo</c>)
/// and container (<c>--name</c>), so stop and status target what start started; start always detaches (<c>-d</c>),
/// because without it a dropped SSH session tears the cluster down.
/// </summary>
public static class LaunchClusterCommands
{
    /// <remarks>Internal: a start's argv is made once, by <see cref="ClusterLaunch.Of"/>.</remarks>
    internal static ValueArray<string> Start(LaunchClusterSettings settings, LaunchClusterStart start)
    {
        var argv = ImmutableArray.CreateBuilder<string>();
        argv.Add("env");
        argv.Add($"HF_HOME={start.HfCachePath}");
        // The script splits this variable on spaces into extra `docker run` options: the secrets file's path (never a
        // secret) and the panel's labels, whose values are validated ids without spaces.
        var extra = new List<string>();
        if (start.EnvFile is { } envFile)
        {
            extra.Add($"--env-file {envFile}");
        }

        extra.AddRange(start.Labels.Select(l => $"--label {l.Key}={l.Value}"));
        if (extra.Count > 0)
        {
            argv.Add($"VLLM_SPARK_EXTRA_DOCKER_ARGS={string.Join(' ', extra)}");
        }

        argv.Add(settings.Script);
        argv.AddRange(Common(settings));
        foreach (var volume in start.Volumes)
        {
            argv.AddRange("-v", $"{volume.HostPath}:{volume.ContainerPath}{(volume.ReadOnly ? ":ro" : string.Empty)}");
        }

        foreach (var (key, value) in start.Environment)
        {
            argv.AddRange("-e", $"{key}={value}");
        }

        argv.Add("-d");
        argv.Add("exec");
        argv.AddRange(start.ServeCommand);
        return argv.ToImmutable();
    }

    public static ValueArray<string> Stop(LaunchClusterSettings settings) => [settings.Script, .. Common(settings), "stop"];

    public static ValueArray<string> Status(LaunchClusterSettings settings) => [settings.Script, .. Common(settings), "status"];

    private static IEnumerable<string> Common(LaunchClusterSettings settings)
    {
        if (settings.Nodes.IsEmpty)
        {
            yield return "--solo";
        }
        else
        {
            yield return "-n";
            yield return string.Join(',', settings.Nodes);
        }

        yield return "--name";
        yield return settings.ContainerName;
        if (settings.Image is { } image)
        {
            yield return "-t";
            yield return image;
        }
    }
}
