using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Shell;
using SparkControl.Core.Sparks;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Core;

public sealed class LaunchSpecTests
{
    private static readonly SparkDefinition Spark = new()
    {
        Name = "spark-1",
        Host = "10.0.0.5",
        User = "nvidia",
        VllmImage = "nvcr.io/nvidia/vllm:25.10-py3",
        ExtraMounts = ["/srv/shared:/srv/shared:ro"],
    };

    private static ModelDefinition Model(ModelSource source) => new()
    {
        Id = "qwen3-8b",
        DisplayName = "Qwen3 8B",
        Source = source,
        ServedName = "qwen3-8b",
        Port = 8000,
        Flags = new VllmFlags { MaxModelLen = 32768, GpuMemoryUtilization = 0.7, ToolCallParser = "hermes" },
    };

    [Fact]
    public void Vllm_HuggingFaceModel_IsTheExactDockerRunLine()
    {
        var spec = LaunchSpecs.Vllm(Model(new HuggingFaceSource("Qwen/Qwen3-8B")), Spark, "/home/nvidia/.cache/huggingface");

        // No --env-file: the swap downloads the weights (the token on stdin) before this runs, offline.
        Assert.Equal(
            "docker run -d --name sparkcontrol-llm --gpus all --network host --ipc=host " +
            "-v /home/nvidia/.cache/huggingface:/root/.cache/huggingface -v /srv/shared:/srv/shared:ro " +
            "-e HF_HUB_OFFLINE=1 " +
            "--label sparkcontrol.model=qwen3-8b --label sparkcontrol.port=8000 --label sparkcontrol.role=model --label sparkcontrol.served-name=qwen3-8b " +
            "--entrypoint vllm nvcr.io/nvidia/vllm:25.10-py3 serve Qwen/Qwen3-8B --served-model-name qwen3-8b --port 8000 " +
            "--max-model-len 32768 --gpu-memory-utilization 0.7 --enable-auto-tool-choice --tool-call-parser hermes",
            ShellCommand.Join(DockerCommands.Run(spec)));
    }

    [Fact]
    public void Vllm_LocalModel_ServesThePathReadOnlyAndOffline()
    {
        var spec = LaunchSpecs.Vllm(Model(new LocalSource("spark-1", "/home/nvidia/models/my-ft")), Spark with { Gpus = "none" }, "/hf");
        var line = ShellCommand.Join(DockerCommands.Run(spec));

        Assert.Contains("-v /home/nvidia/models/my-ft:/home/nvidia/models/my-ft:ro", line, StringComparison.Ordinal);
        Assert.Contains("-e HF_HUB_OFFLINE=1", line, StringComparison.Ordinal);
        Assert.Contains(" serve /home/nvidia/models/my-ft --served-model-name qwen3-8b ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("--gpus", line, StringComparison.Ordinal);
        Assert.DoesNotContain("--env-file", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Nim_KeyOnlyInTheEnvFile()
    {
        var model = Model(new HuggingFaceSource("meta/llama-3.1-8b-instruct")) with { Runtime = ModelRuntime.Nim, Image = "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4" };

        var line = ShellCommand.Join(DockerCommands.Run(LaunchSpecs.Nim(model, Spark, "/home/nvidia/.cache/nim", "/home/nvidia/.config/sparkcontrol/secrets.env")));

        Assert.Equal(
            "docker run -d --name sparkcontrol-llm --gpus all --network host --shm-size 17179869184 -v /home/nvidia/.cache/nim:/opt/nim/.cache " +
            // The Spark's extra mounts go into every model container, a NIM's too.
            "-v /srv/shared:/srv/shared:ro -e NIM_SERVED_MODEL_NAME=qwen3-8b -e NIM_SERVER_PORT=8000 --env-file /home/nvidia/.config/sparkcontrol/secrets.env " +
            "--label sparkcontrol.model=qwen3-8b --label sparkcontrol.port=8000 --label sparkcontrol.role=model --label sparkcontrol.served-name=qwen3-8b " +
            "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4",
            line);
        Assert.Equal("docker login nvcr.io --username '$oauthtoken' --password-stdin", ShellCommand.Join(DockerCommands.Login(LaunchSpecs.NimRegistry, LaunchSpecs.NimRegistryUser)));
    }

    [Fact]
    public void LaunchCluster_SoloAndTwoNodes_CarryTheSameFlagsForStartStopStatus()
    {
        var solo = new LaunchClusterSettings { Script = "/opt/lc/launch-cluster.sh", ContainerName = "vllm_node" };
        var pair = solo with { Nodes = ["192.168.100.10", "192.168.100.11"], Image = "vllm-node" };
        var start = new LaunchClusterStart { ServeCommand = ["vllm", "serve", "nvidia/Qwen3-235B-A22B-FP4", "-tp", "2"], HfCachePath = "/hf", EnvFile = "/s/secrets.env" };

        Assert.Equal("/opt/lc/launch-cluster.sh --solo --name vllm_node stop", ShellCommand.Join(LaunchClusterCommands.Stop(solo)));
        Assert.Equal("/opt/lc/launch-cluster.sh -n 192.168.100.10,192.168.100.11 --name vllm_node -t vllm-node status", ShellCommand.Join(LaunchClusterCommands.Status(pair)));
        Assert.Equal(
            "env HF_HOME=/hf 'VLLM_SPARK_EXTRA_DOCKER_ARGS=--env-file /s/secrets.env' /opt/lc/launch-cluster.sh -n 192.168.100.10,192.168.100.11 --name vllm_node -t vllm-node -d exec vllm serve nvidia/Qwen3-235B-A22B-FP4 -tp 2",
            ShellCommand.Join(LaunchClusterCommands.Start(pair, start)));
    }

    [Fact]
    public async Task Plan_LocalModelFromAnyCatalogFile_IsCheckedAgainstTheRootsAtEveryPlan_AndMountedFromItsRealPath()
    {
        // A local model written into models.yaml by hand never passed registration's checks: planning checks it.
        await using var host = new SparkControl.Sim.Hosting.SimulatedSparkHost(new SparkControl.Sim.Hosting.SimSparkSettings { Name = "spark-1" }, TimeProvider.System);
        host.Disk.AddDirectory("/home/nvidia/models/ft-v2", 1000, "config.json", "model.safetensors", "tokenizer.json");
        host.Disk.AddDirectory("/etc/ft", 1000, "config.json", "model.safetensors", "tokenizer.json");
        host.Disk.AddLink("/home/nvidia/models/current", "/home/nvidia/models/ft-v2");
        host.Disk.AddLink("/home/nvidia/models/escape", "/etc/ft");
        var spark = new SparkEntry(Spark with { ModelRoots = ["/home/nvidia/models"], HfCachePath = "/home/nvidia/.cache/huggingface" }, host, true);
        var planner = new LaunchPlanner(new SparkControl.Core.Secrets.SecretStore(new SparkControl.Core.Storage.DataDirectory(Path.GetTempPath()), TimeProvider.System));

        var linked = await planner.PlanAsync(Model(new LocalSource("spark-1", "/home/nvidia/models/current")), spark, CancellationToken.None);
        var outside = await planner.PlanAsync(Model(new LocalSource("spark-1", "/etc/ft")), spark, CancellationToken.None);
        var escaping = await planner.PlanAsync(Model(new LocalSource("spark-1", "/home/nvidia/models/escape")), spark, CancellationToken.None);
        var missing = await planner.PlanAsync(Model(new LocalSource("spark-1", "/home/nvidia/models/gone")), spark, CancellationToken.None);

        Assert.Empty(linked.Blockers);
        Assert.Contains(new BindMount("/home/nvidia/models/ft-v2", "/home/nvidia/models/current", ReadOnly: true), linked.Container!.Spec.Mounts);
        Assert.Equal(["path '/etc/ft' is not under an allow-listed root (/home/nvidia/models)"], outside.Blockers);
        Assert.Equal(["/home/nvidia/models/escape resolves to /etc/ft, which is outside the allow-listed roots (/home/nvidia/models)"], escaping.Blockers);
        Assert.Equal(["/home/nvidia/models/gone does not exist on spark-1"], missing.Blockers);
    }
}

/// <summary>Which registry a NIM image comes from, and that the NGC key goes only to one the operator named.</summary>
public sealed class NimRegistryTests
{
    [Theory]
    [InlineData("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4", "nvcr.io")]
    [InlineData("127.0.0.1:5000/nim/llama:1", "127.0.0.1:5000")]
    [InlineData("localhost/nim/llama", "localhost")]
    [InlineData("registry.lan:443/team/nim@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "registry.lan:443")]
    [InlineData("nvidia/llama:1", "docker.io")]
    [InlineData("ubuntu", "docker.io")]
    public void Registry_FollowsDockersRule(string image, string registry) => Assert.Equal(registry, ImageRegistry.Of(image));

    private static async Task<LaunchPlan> PlanAsync(string image, params string[] registries)
    {
        await using var host = new SparkControl.Sim.Hosting.SimulatedSparkHost(new SparkControl.Sim.Hosting.SimSparkSettings { Name = "spark-1" }, TimeProvider.System);
        var spark = new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "10.0.0.5", User = "nvidia" }, host, true);
        var options = new Microsoft.Extensions.Options.OptionsMonitor<NimOptions>(
            new Microsoft.Extensions.Options.OptionsFactory<NimOptions>([new Microsoft.Extensions.Options.ConfigureOptions<NimOptions>(o => o.Registries = registries)], []), [], new Microsoft.Extensions.Options.OptionsCache<NimOptions>());
        var planner = new LaunchPlanner(new SparkControl.Core.Secrets.SecretStore(new SparkControl.Core.Storage.DataDirectory(Path.GetTempPath()), TimeProvider.System), options);
        var model = new ModelDefinition { Id = "nim-llama", DisplayName = "nim", Source = new HuggingFaceSource("meta/llama-3.1-8b-instruct"), ServedName = "nim-llama", Runtime = ModelRuntime.Nim, Image = image, MemoryEstimateGiB = 24 };
        return await planner.PlanAsync(model, spark, CancellationToken.None);
    }

    [Fact]
    public async Task Plan_LogsInToTheImagesRegistry_WhenItIsOneOfTheSetting()
    {
        var nvidia = await PlanAsync("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4");
        var loopback = await PlanAsync("127.0.0.1:5000/nim/llama:1", "nvcr.io", "127.0.0.1:5000");

        Assert.Equal(("nvcr.io", true), (nvidia.Registry, nvidia.Blockers.IsEmpty));
        Assert.Equal(("127.0.0.1:5000", true), (loopback.Registry, loopback.Blockers.IsEmpty));
    }

    [Theory]
    [InlineData("127.0.0.1:5000/nim/llama:1", "127.0.0.1:5000")]
    [InlineData("nvidia/llama:1", "docker.io")]
    [InlineData("nvcr.io.evil.example/nim/llama:1", "nvcr.io.evil.example")]
    public async Task Plan_AnImageFromAnotherRegistry_IsBlockedBeforeTheKeyGoesAnywhere(string image, string registry)
    {
        var plan = await PlanAsync(image);

        Assert.Equal($"{image} comes from {registry}, which is not one of the NIM registries (nvcr.io): add it to Nim:Registries to pull from it with the NGC key", Assert.Single(plan.Blockers));
    }

    [Theory]
    [InlineData("nvcr.io", true)]
    [InlineData("127.0.0.1:5000", true)]
    [InlineData("registry.lan", true)]
    [InlineData("nvcr.io/nim", false)]
    [InlineData("nvcr.io\n", false)]
    [InlineData("not a host", false)]
    [InlineData("library", false)]
    public void Setting_HoldsRegistryHostsOnly(string registry, bool valid) =>
        Assert.Equal(valid, new NimOptionsValidator().Validate(null, new NimOptions { Registries = [registry] }).Succeeded);
}
