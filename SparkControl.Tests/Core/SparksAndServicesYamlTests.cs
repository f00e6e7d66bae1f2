using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Hosts;
using SparkControl.Core.Units;

namespace SparkControl.Tests.Core;

public sealed class SparksAndServicesYamlTests
{
    [Fact]
    public void Sparks_WriteThenRead_RoundTrips()
    {
        SparkDefinition[] sparks =
        [
            new()
            {
                Name = "spark-1",
                Host = "192.168.1.50",
                Port = 2222,
                User = "nvidia",
                KeyPath = "/data/keys/id_ed25519",
                Role = SparkRole.Head,
                HfCachePath = "/home/nvidia/.cache/huggingface",
                ModelRoots = ["/home/nvidia/models"],
                PathPrefix = ["/home/nvidia/bin"],
                Gpus = "none",
                VllmImage = "nvcr.io/nvidia/vllm:25.10-py3",
                ExtraMounts = ["/srv/a:/srv/a:ro"],
                LaunchCluster = new LaunchClusterSettings { Script = "/home/nvidia/spark-vllm-docker/launch-cluster.sh", Nodes = ["10.0.0.1", "10.0.0.2"], ContainerName = "vllm_node" },
            },
            new() { Name = "spark-2", Host = "spark-2.lan", User = "nvidia", Role = SparkRole.Worker },
        ];

        var (read, problems) = SparksYaml.Read(SparksYaml.Write(sparks), "sparks.yaml");

        Assert.Empty(problems);
        Assert.Equal(2, read.Length);
        Assert.Equal(sparks[0] with { ModelRoots = [], PathPrefix = [], ExtraMounts = [], LaunchCluster = null }, read[0] with { ModelRoots = [], PathPrefix = [], ExtraMounts = [], LaunchCluster = null });
        Assert.Equal(sparks[0].ModelRoots, read[0].ModelRoots);
        Assert.Equal(sparks[0].LaunchCluster!.Nodes, read[0].LaunchCluster!.Nodes);
        Assert.Equal("spark-2.lan", read[1].Host);
    }

    [Theory]
    [InlineData("sparks:\n  - name: s1\n    host: \"evil;rm -rf /\"\n    user: u\n", 3, "not a host name")]
    [InlineData("sparks:\n  - name: s1\n    host: h\n    user: u\n    gpus: some\n", 5, "gpus must be all or none")]
    [InlineData("sparks:\n  - name: s1\n    host: h\n    user: u\n    modelRoots: [/a/../b]\n", 5, "'..' segments")]
    [InlineData("sparks:\n  - name: s1\n    host: h\n", 2, "'user' is required")]
    [InlineData("sparks:\n  - name: s1\n    host: h\n    user: u\n    role: boss\n", 5, "standalone, head or worker")]
    public void Sparks_Problems_NameTheLine(string yaml, int line, string message)
    {
        var (_, problems) = SparksYaml.Read(yaml, "sparks.yaml");

        var problem = Assert.Single(problems, p => p.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal(line, problem.Line);
    }

    [Fact]
    public void Services_WriteThenRead_RoundTrips()
    {
        ServiceDefinition[] services =
        [
            new() { Spark = "spark-1", Name = "parakeet-asr", Kind = ServiceKind.ParakeetAsr, Container = "parakeet-asr", Port = 9000, HealthPath = "/health", MemoryLimitBytes = 16L << 30, MemoryEstimateGiB = 6 },
            new() { Spark = "spark-2", Name = "webui", Kind = ServiceKind.OpenWebUi, Url = "http://spark-2:3000/", Links = [new ServiceLink("Open", "http://spark-2:3000/")] },
        ];

        var (read, problems) = ServicesYaml.Read(ServicesYaml.Write(services), "services.yaml");

        Assert.Empty(problems);
        Assert.Equal(services[0], read[0]);
        Assert.Equal(services[1] with { Links = [] }, read[1] with { Links = [] });
        Assert.Equal(services[1].Links, read[1].Links);
        Assert.Equal("/readyz", new ServiceDefinition { Spark = "s", Name = "q", Kind = ServiceKind.Qdrant, Port = 6333 }.EffectiveHealthPath);
        Assert.Equal("/v1/health/ready", new ServiceDefinition { Spark = "s", Name = "n", Kind = ServiceKind.Nim, Port = 8000 }.EffectiveHealthPath);
    }

    [Theory]
    [InlineData("16g", 16L << 30)]
    [InlineData("512m", 512L << 20)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("1048576", 1048576L)]
    public void ByteSize_Parse_ReadsDockerSizes(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData(16L << 30, "16g")]
    [InlineData(1536L << 20, "1536m")]
    [InlineData(1000L, "1000")]
    public void ByteSize_Format_IsExactAndShort(long bytes, string text) => Assert.Equal(text, ByteSize.Format(bytes));
}
