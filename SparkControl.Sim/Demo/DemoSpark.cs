using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using SparkControl.Core.Catalog;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Sim.Hosting;

namespace SparkControl.Sim.Demo;

/// <summary>The simulated Spark "demo": its definition, catalog, services and a host seeded to match.</summary>
public static class DemoSpark
{
    public const string Name = "demo";
    public const string HfCachePath = "/home/demo/.cache/huggingface";

    public static readonly SparkDefinition Definition = new()
    {
        Name = Name,
        Host = "127.0.0.1",
        User = "demo",
        Role = SparkRole.Standalone,
        HfCachePath = HfCachePath,
        ModelRoots = ["/home/demo/models"],
        Gpus = "all",
    };

    /// <summary>The demo catalog shipped with the simulator (<c>Demo/demo-models.yaml</c>).</summary>
    public static CatalogSnapshot LoadCatalog()
    {
        var (models, problems) = CatalogYaml.Read(ReadResource("demo-models.yaml"), "demo-models.yaml", ModelOrigin.Demo);
        return problems.IsEmpty ? new CatalogSnapshot(models, []) : throw new InvalidOperationException($"The demo catalog is broken: {string.Join("; ", problems)}");
    }

    /// <summary>The demo services (<c>Demo/demo-services.yaml</c>).</summary>
    public static ImmutableArray<ServiceDefinition> LoadServices()
    {
        var (services, problems) = ServicesYaml.Read(ReadResource("demo-services.yaml"), "demo-services.yaml");
        return problems.IsEmpty ? services : throw new InvalidOperationException($"The demo services are broken: {string.Join("; ", problems)}");
    }

    public static SimulatedSparkHost CreateHost(DemoOptions options, CatalogSnapshot catalog, TimeProvider time)
    {
        GpuReplay? replay = null;
        if (!string.IsNullOrEmpty(options.GpuReplay))
        {
            var fields = options.GpuReplayFields?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            replay = GpuReplay.Load(options.GpuReplay, fields);
        }

        var sizes = catalog.Models
            .Where(m => m.DownloadSizeGiB is not null)
            .ToImmutableDictionary(m => m.Source is HuggingFaceSource hf ? hf.Repo : ((LocalSource)m.Source).Path, m => m.DownloadSizeGiB!.Value);
        var host = new SimulatedSparkHost(
            new SimSparkSettings
            {
                Name = Name,
                FixedLoadTime = options.LoadTime,
                LoadSecondsPerGiB = options.LoadSecondsPerGiB,
                TokensPerSecond = options.TokensPerSecond,
                ChatScript = options.LoadChatScript(),
                GpuSampleInterval = options.GpuSampleInterval,
                Replay = replay,
                ReplaySpeed = options.GpuReplaySpeed,
                ReplayLoop = options.GpuReplayLoop,
                // A GPU is busy with a model's requests: the capture plays from the moment the demo's model serves.
                ReplayWhenServing = true,
                ModelSizesGiB = sizes,
                AsrTranscriber = options.AsrSlots is { } slots
                    ? new Audio.SlotTranscriber(slots, options.AsrServiceTime, time)
                    : new Audio.PocketsphinxTranscriber(options.AsrPhrases.Length > 0 ? options.AsrPhrases : null),
            },
            time);

        foreach (var model in catalog.Models)
        {
            // Every demo model is on disk except those whose notes say otherwise, so a download can be shown.
            if (model.Source is HuggingFaceSource hf && model.Notes?.Contains("Not downloaded", StringComparison.Ordinal) != true)
            {
                host.Disk.AddDirectory($"{HfCachePath}/hub/{hf.CacheFolder}", (long)((model.DownloadSizeGiB ?? 1) * (1L << 30)), "config.json", "model.safetensors", "tokenizer.json");
            }
        }

        AddFineTunes(host.Disk);
        AddNimImages(host.Registry);
        return host;
    }

    /// <summary>NIM images the demo's registry holds for an install from the panel (layer sizes as NGC lists them, roughly).</summary>
    private static void AddNimImages(SimRegistry registry)
    {
        const long mib = 1L << 20;
        registry.Add(new SimImage("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4", [29 * mib, 412 * mib, 2_310 * mib, 3_870 * mib, 1_204 * mib, 96 * mib, 12 * mib]));
        registry.Add(new SimImage("nvcr.io/nim/nvidia/llama-3.1-nemotron-nano-8b-v1:1.8.4", [29 * mib, 412 * mib, 2_310 * mib, 3_990 * mib, 1_180 * mib, 14 * mib]));
        registry.Add(new SimImage("nvcr.io/nim/meta/llama-3.2-1b-instruct:1.8.4", [29 * mib, 412 * mib, 2_310 * mib, 690 * mib, 9 * mib], Architecture: "amd64"));
    }

    /// <summary>
    /// Fine-tuning outputs under the demo's model root, one of each kind the panel tells apart: a full model it can
    /// serve, PEFT adapters it attaches to a base model (one trained on the demo's Qwen3 8B, one on Llama 3.3 70B), and a
    /// checkpoint with no weights or tokenizer.
    /// </summary>
    private static void AddFineTunes(SimDisk disk)
    {
        const string root = "/home/demo/models";
        const string config = "{\"architectures\":[\"Qwen3ForCausalLM\"],\"model_type\":\"qwen3\",\"max_position_embeddings\":40960}";
        disk.AddDirectory($"{root}/qwen3-8b-support-ft", 16_384L << 20,
            "config.json", "generation_config.json", "model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
            "model-00004-of-00004.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");
        disk.AddFile($"{root}/qwen3-8b-support-ft/config.json", config);
        disk.AddDirectory($"{root}/qwen3-8b-legal-lora", 167L << 20, "adapter_config.json", "adapter_model.safetensors", "README.md");
        disk.AddFile($"{root}/qwen3-8b-legal-lora/adapter_config.json", "{\"base_model_name_or_path\":\"Qwen/Qwen3-8B\",\"peft_type\":\"LORA\",\"r\":16}");
        disk.AddDirectory($"{root}/llama-70b-sql-lora", 420L << 20, "adapter_config.json", "adapter_model.safetensors");
        disk.AddFile($"{root}/llama-70b-sql-lora/adapter_config.json", "{\"base_model_name_or_path\":\"meta-llama/Llama-3.3-70B-Instruct\",\"peft_type\":\"LORA\",\"r\":64}");
        disk.AddDirectory($"{root}/checkpoint-1200", 2_150L << 20, "config.json", "trainer_state.json", "optimizer.pt", "rng_state.pth");
        disk.AddFile($"{root}/checkpoint-1200/config.json", config);
    }

    /// <summary>The containers the demo services run in.</summary>
    public static IEnumerable<ContainerLaunchSpec> ServiceContainers() =>
    [
        new ContainerLaunchSpec
        {
            Name = "parakeet-asr",
            Image = "sparkcontrol/sim-parakeet-asr:demo",
            Labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(ContainerLabels.Port, "9000")]),
            MemoryLimitBytes = 16L << 30,
            MemorySwapLimitBytes = 16L << 30,
        },
        Service("tts", "ghcr.io/remsky/kokoro-fastapi-gpu:v0.2.4", 8880),
        Service("qdrant", "qdrant/qdrant:v1.15.5", 6333),
        Service("open-webui", "ghcr.io/open-webui/open-webui:v0.6.34", 8080),
        new ContainerLaunchSpec
        {
            Name = "embeddings",
            Image = "vllm/vllm-openai:v0.11.0",
            Entrypoint = "vllm",
            Command = ["serve", "BAAI/bge-small-en-v1.5", "--served-model-name", "bge-small", "--port", "8001", "--gpu-memory-utilization", "0.04"],
        },
    ];

    private static ContainerLaunchSpec Service(string name, string image, int port) => new()
    {
        Name = name,
        Image = image,
        Labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(ContainerLabels.Port, port.ToString(CultureInfo.InvariantCulture))]),
    };

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The simulator is missing its resource {name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
