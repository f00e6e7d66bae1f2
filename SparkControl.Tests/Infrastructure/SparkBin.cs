namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// A Spark's PATH prefix directory for tests: a <c>docker</c> wrapper that talks to the test's private dockerd, and the
/// project's stand-ins (launch-cluster.sh, hf, nvidia-smi, sudo, apt-get, reboot) from eng/standins.
/// </summary>
public sealed class SparkBin : IDisposable
{
    private readonly TempDirectory _directory = new("sc-bin");
    private readonly DockerdFixture _docker;

    public SparkBin(DockerdFixture docker)
    {
        _docker = docker;
        SshdFixture.WriteScript(File("docker"), docker.WrapperScript);
        foreach (var standIn in new[] { "launch-cluster.sh", "hf", "nvidia-smi", "sudo", "apt-get", "reboot" })
        {
            var source = System.IO.Path.Combine(Tools.RepositoryRoot, "eng", "standins", standIn);
            SshdFixture.WriteScript(File(standIn), System.IO.File.ReadAllText(source));
        }
    }

    public string Path => _directory.Path;

    public string File(string name) => _directory.File(name);

    /// <summary>Makes the nvidia-smi stand-in replay a fixture whose columns are <paramref name="fields"/>.</summary>
    public void ReplayNvidiaSmi(string timelineFixture, string fields, string? computeAppsFixture = null)
    {
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
        var docker = $"{Tools.Docker} -H {_docker.Host}";
        var environment = string.Join(' ', variables.Select(v => $"-e {v.Name}={v.Value}"));
        SshdFixture.WriteScript(File("docker"),
            "#!/bin/sh\n" +
            $"DOCKER_CONFIG={_docker.ConfigDirectory}; export DOCKER_CONFIG\n" +
            $"if [ \"$1\" = run ]; then shift; exec {docker} run {environment} \"$@\"; fi\n" +
            $"exec {docker} \"$@\"\n");
    }

    /// <summary>Gives the SSH user passwordless sudo, as the stand-in <c>sudo</c> understands it.</summary>
    public void AllowPasswordlessSudo() => System.IO.File.WriteAllText(File("sudo.nopasswd"), string.Empty);

    public void Dispose() => _directory.Dispose();
}
