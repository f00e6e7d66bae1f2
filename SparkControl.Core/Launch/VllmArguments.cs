using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Catalog;

namespace SparkControl.Core.Launch;

/// <summary>Turns a catalog entry into the arguments of <c>vllm serve</c>.</summary>
public static class VllmArguments
{
    /// <summary>
    /// <c>serve &lt;model&gt; --served-model-name NAME --port PORT [flags] [extra]</c>. <paramref name="modelArgument"/> is
    /// the repo id or the path inside the container.
    /// </summary>
    public static ImmutableArray<string> Serve(ModelDefinition model, string modelArgument, int? tensorParallelOverride = null, IReadOnlyList<LoraAdapter>? adapters = null)
    {
        var args = ImmutableArray.CreateBuilder<string>();
        args.Add("serve");
        args.Add(modelArgument);
        args.Add("--served-model-name");
        args.Add(model.ServedName);
        args.Add("--port");
        args.Add(model.Port.ToString(CultureInfo.InvariantCulture));
        if (model.Source is HuggingFaceSource { Revision: { } revision })
        {
            args.Add("--revision");
            args.Add(revision);
        }

        AddLora(args, adapters ?? []);
        AddFlags(args, model.Flags, tensorParallelOverride);
        return args.ToImmutable();
    }

    /// <summary>
    /// <c>--enable-lora --max-lora-rank R --lora-modules NAME=PATH ...</c>: the smallest rank vLLM allows that holds every
    /// adapter, each adapter served under its own name. Nothing without adapters.
    /// </summary>
    public static void AddLora(ImmutableArray<string>.Builder args, IReadOnlyList<LoraAdapter> adapters)
    {
        if (adapters.Count == 0)
        {
            return;
        }

        args.Add("--enable-lora");
        args.Add("--max-lora-rank");
        args.Add(LoraRanks.MaxLoraRank(adapters).ToString(CultureInfo.InvariantCulture));
        args.Add("--lora-modules");
        args.AddRange(adapters.Select(a => a.Module));
    }

    public static void AddFlags(ImmutableArray<string>.Builder args, VllmFlags flags, int? tensorParallelOverride = null)
    {
        void Add(string flag, string? value)
        {
            if (value is not null)
            {
                args.Add(flag);
                args.Add(value);
            }
        }

        Add("--max-model-len", flags.MaxModelLen?.ToString(CultureInfo.InvariantCulture));
        Add("--gpu-memory-utilization", flags.GpuMemoryUtilization?.ToString("0.###", CultureInfo.InvariantCulture));
        Add("--max-num-seqs", flags.MaxNumSeqs?.ToString(CultureInfo.InvariantCulture));
        Add("--tensor-parallel-size", (tensorParallelOverride ?? flags.TensorParallelSize)?.ToString(CultureInfo.InvariantCulture));
        Add("--quantization", flags.Quantization);
        Add("--kv-cache-dtype", flags.KvCacheDtype);
        if (flags.EnablePrefixCaching is { } prefix)
        {
            args.Add(prefix ? "--enable-prefix-caching" : "--no-enable-prefix-caching");
        }

        if (flags.EnforceEager)
        {
            args.Add("--enforce-eager");
        }

        if (flags.TrustRemoteCode)
        {
            args.Add("--trust-remote-code");
        }

        if (flags.ToolCallParser is not null)
        {
            args.Add("--enable-auto-tool-choice");
            Add("--tool-call-parser", flags.ToolCallParser);
        }

        Add("--reasoning-parser", flags.ReasoningParser);
        args.AddRange(flags.ExtraArgs);
    }
}
