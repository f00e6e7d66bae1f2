using System.Globalization;

namespace SparkControl.Core.Services;

/// <summary>One sample of a Prometheus text exposition: name, labels and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>Reads the Prometheus text format (what vLLM's /metrics serves), tolerant of comments and odd lines.</summary>
public static class PrometheusText
{
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.LastIndexOf(' ');
            if (space <= 0)
            {
                continue;
            }

            // A timestamp may follow the value: take the token after the name/labels.
            var rest = brace >= 0 ? line[(line.IndexOf('}', brace) + 1)..].Trim() : line[line.IndexOf(' ', StringComparison.Ordinal)..].Trim();
            var valueText = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (valueText is null || !TryParseValue(valueText, out var value))
            {
                continue;
            }

            var name = brace >= 0 ? line[..brace] : line[..line.IndexOf(' ', StringComparison.Ordinal)];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (brace >= 0)
            {
                var body = line[(brace + 1)..line.IndexOf('}', brace)];
                foreach (var pair in SplitLabels(body))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals > 0)
                    {
                        labels[pair[..equals].Trim()] = pair[(equals + 1)..].Trim().Trim('"');
                    }
                }
            }

            samples.Add(new PrometheusSample(name, labels, value));
        }

        return samples;
    }

    /// <summary>A sample value: Go's float syntax plus the format's own <c>+Inf</c>, <c>-Inf</c> and <c>NaN</c>.</summary>
    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf" or "Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    private static IEnumerable<string> SplitLabels(string body)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '"' && (i == 0 || body[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (body[i] == ',' && !quoted)
            {
                yield return body[start..i];
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            yield return body[start..];
        }
    }
}

/// <summary>What a model server's /metrics says right now.</summary>
public sealed record VllmMetrics(double? RequestsRunning, double? RequestsWaiting, double? KvCacheUsage, double? PromptTokens, double? GenerationTokens, DateTimeOffset ReadAt)
{
    /// <summary>Reads vLLM's metrics; KV-cache usage from <c>vllm:kv_cache_usage_perc</c>, else the older <c>vllm:gpu_cache_usage_perc</c>.</summary>
    public static VllmMetrics From(string text, DateTimeOffset readAt)
    {
        var samples = PrometheusText.Parse(text);
        double? Sum(params string[] names)
        {
            var matching = samples.Where(s => names.Contains(s.Name)).ToList();
            return matching.Count == 0 ? null : matching.Sum(s => s.Value);
        }

        // Usage is a fraction per engine: several engines (data parallel) average, they do not add up.
        double? Mean(string name)
        {
            var matching = samples.Where(s => s.Name == name).ToList();
            return matching.Count == 0 ? null : matching.Average(s => s.Value);
        }

        return new VllmMetrics(
            Sum("vllm:num_requests_running"),
            Sum("vllm:num_requests_waiting"),
            Mean("vllm:kv_cache_usage_perc") ?? Mean("vllm:gpu_cache_usage_perc"),
            Sum("vllm:prompt_tokens_total", "vllm:prompt_tokens"),
            Sum("vllm:generation_tokens_total", "vllm:generation_tokens"),
            readAt);
    }

    /// <summary>Generation tokens per second between an earlier reading and this one.</summary>
    public double? TokensPerSecondSince(VllmMetrics? earlier)
    {
        if (earlier?.GenerationTokens is not { } before || GenerationTokens is not { } now)
        {
            return null;
        }

        var seconds = (ReadAt - earlier.ReadAt).TotalSeconds;
        return seconds <= 0 || now < before ? null : (now - before) / seconds;
    }
}
