using SparkControl.Core.Collections;

namespace SparkControl.Core.Hosts;

/// <summary>
/// A container to start and the exact <c>docker run</c> argv that starts it, made together once: the preview on the
/// Models page, the command in the swap history and what runs on the Spark are this one value. The simulated Spark
/// reads the spec; a real one runs the argv.
/// </summary>
public sealed class ContainerLaunch
{
    private ContainerLaunch(ContainerLaunchSpec spec, ValueArray<string> argv)
    {
        Spec = spec;
        Argv = argv;
    }

    public ContainerLaunchSpec Spec { get; }

    public ValueArray<string> Argv { get; }

    public static ContainerLaunch Of(ContainerLaunchSpec spec) => new(spec, DockerCommands.Run(spec));
}

/// <summary>A start of eugr's <c>launch-cluster.sh</c> and the exact argv that does it, made together once.</summary>
public sealed class ClusterLaunch
{
    private ClusterLaunch(LaunchClusterSettings settings, LaunchClusterStart start, ValueArray<string> argv)
    {
        Settings = settings;
        Start = start;
        Argv = argv;
    }

    public LaunchClusterSettings Settings { get; }

    public LaunchClusterStart Start { get; }

    public ValueArray<string> Argv { get; }

    public static ClusterLaunch Of(LaunchClusterSettings settings, LaunchClusterStart start) => new(settings, start, LaunchClusterCommands.Start(settings, start));
}
