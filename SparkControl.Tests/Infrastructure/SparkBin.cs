namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A Spark's PATH prefix directory for tests: a <c>docker</c> wrapper that talks to the test's private dockerd, and the
/// project's stand-ins (launch-cluster.sh, hf, nvidia-smi, sudo, apt-get, reboot, fwupdmgr) from eng/standins.
/// </summary>
public sealed class SparkBin : IDisposable
{
    private readonly TempDirectory _directory = new("sc-bin");
    private readonly DockerdFixture _docker;
    private string _runEnvironment = string.Empty;
    private bool _holdAfterStop;

    public SparkBin(DockerdFixture docker)
    {
        _docker = docker;
        SshdFixture.WriteScript(File("docker"), docker.WrapperScript);
        foreach (var standIn in new[] { "launch-cluster.sh", "hf", "nvidia-smi", "sudo", "apt-get", "reboot", "fwupdmgr" })
        {
            var source = System.IO.Path.Combine(Tools.RepositoryRoot, "eng", "standins", standIn);
            SshdFixture.WriteScript(File(standIn), System.IO.File.ReadAllText(source));
        }
    }

    public string Path => _directory.Path;

    public string File(string name) => _directory.File(name);

    /// <summary>
    /// Makes the nvidia-smi stand-in replay a fixture whose columns are <paramref name="fields"/>; with
    /// <paramref name="liveTimestamps"/> each line is stamped with the time it is printed.
    /// </summary>
    public void ReplayNvidiaSmi(string timelineFixture, string fields, string? computeAppsFixture = null, bool liveTimestamps = false)
    {
        if (liveTimestamps)
        {
            System.IO.File.WriteAllText(File("nvidia-smi.live"), string.Empty);
        }

        var data = System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi");
        System.IO.File.Copy(System.IO.Path.Combine(data, timelineFixture), File("nvidia-smi.timeline"), overwrite: true);
        System.IO.File.WriteAllText(File("nvidia-smi.fields"), fields);
        if (computeAppsFixture is not null)
        {
            System.IO.File.Copy(System.IO.Path.Combine(data, computeAppsFixture), File("nvidia-smi.compute-apps"), overwrite: true);
        }
    }

    /// <summary>
    /// Adds <c>-e NAME=VALUE</c> to every <c>docker run</c> on this Spark: how a test sets the simulator's knobs
    /// (<c>SPARKCONTROL_SIM_*</c>) on containers the panel starts with its own command lines.
    /// </summary>
    public void SetDockerRunEnvironment(params (string Name, string Value)[] variables)
    {
        _runEnvironment = string.Join(' ', variables.Select(v => $"-e {v.Name}={v.Value}"));
        WriteDockerWrapper();
    }

    /// <summary>
    /// While <c>docker.hold</c> exists next to the wrapper, a <c>docker stop</c> does its work, creates
    /// <c>docker.held</c> and only then waits to return: the panel is caught between stopping a model and the next step.
    /// </summary>
    public void HoldAfterDockerStop()
    {
        _holdAfterStop = true;
        WriteDockerWrapper();
    }

    private void WriteDockerWrapper()
    {
        var docker = $"{Tools.Docker} -H {_docker.Host}";
        var hold = _holdAfterStop
            ? "if [ \"$1\" = stop ] && [ -e \"$here/docker.hold\" ]; then\n"
              + $"  rc=0; {docker} \"$@\" || rc=$?\n"
              + "  touch \"$here/docker.held\"; waited=0\n"
              + "  while [ -e \"$here/docker.hold\" ] && [ \"$waited\" -lt 2400 ]; do sleep 0.05; waited=$((waited + 1)); done\n"
              + "  exit $rc\nfi\n"
            : string.Empty;
        SshdFixture.WriteScript(File("docker"),
            "#!/bin/sh\n" +
            "here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n" +
            $"DOCKER_CONFIG={_docker.ConfigDirectory}; export DOCKER_CONFIG\n" +
            hold +
            $"if [ \"$1\" = run ]; then shift; exec {docker} run {_runEnvironment} \"$@\"; fi\n" +
            $"exec {docker} \"$@\"\n");
    }

    /// <summary>Gives the SSH user passwordless sudo, as the stand-in <c>sudo</c> understands it.</summary>
    public void AllowPasswordlessSudo() => System.IO.File.WriteAllText(File("sudo.nopasswd"), string.Empty);

    public void Dispose() => _directory.Dispose();
}
