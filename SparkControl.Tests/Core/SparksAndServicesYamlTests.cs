using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Hosts;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

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

    [Theory]
    [InlineData(121.7, "121.7 GiB")]
    [InlineData(16, "16 GiB")]
    [InlineData(112.84, "112.8 GiB")]
    public void ByteSize_HumanBinary_WritesGiBAlikeOnEveryPage_NeverRoundedToAWholeNumberAbove100(double gib, string text) =>
        Assert.Equal(text, ByteSize.HumanBinary((long)(gib * (1L << 30))));

    [Theory]
    [InlineData("99999999t", "memoryLimit '99999999t' is too large: at most 4194304t")]
    [InlineData("12345678901234567890", "memoryLimit '12345678901234567890' is too large: at most 4194304t")]
    [InlineData("16 g", "memoryLimit must be a size like 16g or 512m, not '16 g'")]
    public void MemoryLimit_TooLargeOrMalformed_SaysWhich(string typed, string said) =>
        Assert.Equal(said, Validators.MemoryLimit(typed, out _));

    [Theory]
    [InlineData("/:/models", "mount '/:/models': its source must be a directory below '/', not '/' itself")]
    [InlineData("/data:/", "mount '/data:/': its target must be a directory below '/', not '/' itself")]
    [InlineData("/data//x:/models", "mount '/data//x:/models': its source '/data//x' has an empty segment ('//')")]
    public void ValidateMount_Refused_QuotesTheMountAsTyped(string typed, string said) =>
        Assert.Equal(said, SparksYaml.ValidateMount(typed));

    [Fact]
    public void AudioService_ModelsAndCap_RoundTrip()
    {
        ServiceDefinition[] services =
        [
            new()
            {
                Spark = "spark-1", Name = "asr", Kind = ServiceKind.ParakeetAsr, Port = 9000,
                Models = [new ServiceModelName("parakeet-tdt-0.6b-v2", ["whisper-1"])], MaxInFlight = 5, MeasuredKnee = 5,
            },
            new() { Spark = "spark-1", Name = "tts", Kind = ServiceKind.Tts, Port = 8880, Models = [new ServiceModelName("kokoro", [])] },
        ];

        var (read, problems) = ServicesYaml.Read(ServicesYaml.Write(services), "services.yaml");

        Assert.Empty(problems);
        Assert.Equal(services, read);
        Assert.Equal(AudioRole.Transcription, read[0].Audio);
        Assert.Equal(AudioRole.Speech, read[1].Audio);
        Assert.Equal(ServiceDefinition.DefaultMaxInFlight, read[1].EffectiveMaxInFlight);
    }

    [Theory]
    [InlineData("models:\n      - name: \"whisper-1\\n\"", "models 'whisper-1")]
    [InlineData("models:\n      - name: a\n        aliases: [a]", "appears twice")]
    [InlineData("models:\n      - name: a\n    maxInFlight: 4", "run a concurrency sweep")]
    [InlineData("models:\n      - name: a\n    maxInFlight: 0", "maxInFlight must be between 1 and 3")]
    [InlineData("models:\n      - name: a\n    maxInFlight: 9\n    measuredKnee: 6", "between 1 and 6")]
    [InlineData("models:\n      - name: a\n    measuredKnee: 65", "measuredKnee must be between 1 and 64")]
    [InlineData("maxInFlight: 2", "add models first")]
    [InlineData("models:\n      - aliases: [x]", "name")]
    public void AudioService_BadModelsOrCap_AreProblemsThatSayWhy(string yaml, string said)
    {
        var text = "services:\n  - spark: s\n    name: asr\n    kind: parakeet-asr\n    port: 9000\n    " + yaml + "\n";

        var (read, problems) = ServicesYaml.Read(text, "services.yaml");

        Assert.Empty(read);
        Assert.Contains(problems, p => p.Message.Contains(said, StringComparison.Ordinal));
    }

    [Fact]
    public void QdrantsGrpcPort_IsReadAndWrittenBack_DefaultsToThePortAfterRest_AndIsCheckedAsAPort()
    {
        const string text = "services:\n  - spark: s\n    name: qdrant\n    kind: qdrant\n    port: 16333\n  - spark: s\n    name: vault\n    kind: qdrant\n    port: 6333\n    grpcPort: 7334\n";

        var (read, problems) = ServicesYaml.Read(text, "services.yaml");
        var (again, _) = ServicesYaml.Read(ServicesYaml.Write(read), "services.yaml");
        var (bad, badProblems) = ServicesYaml.Read(text.Replace("7334", "70000", StringComparison.Ordinal), "services.yaml");

        Assert.Empty(problems);
        Assert.Equal((16334, 7334), (read[0].EffectiveGrpcPort, read[1].EffectiveGrpcPort));
        Assert.Equal([null, 7334], again.Select(s => s.GrpcPort));
        Assert.Equal(ServicesYaml.Write(read), ServicesYaml.Write(again));
        Assert.Single(bad);
        Assert.Contains(badProblems, p => p.Message.Contains("grpcPort must be between 1 and 65535", StringComparison.Ordinal));
    }
}
