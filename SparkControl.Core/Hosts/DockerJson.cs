using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;

namespace SparkControl.Core.Hosts;

/// <summary>Reads what the docker CLI prints: <c>docker ps --format '{{json .}}'</c> lines and <c>docker inspect</c>.</summary>
public static class DockerJson
{
    public static IReadOnlyList<ContainerSummary> ParsePs(string output)
    {
        var containers = new List<ContainerSummary>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] != '{')
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            containers.Add(new ContainerSummary(
                Text(root, "ID"),
                Text(root, "Names").Split(',')[0],
                Text(root, "Image"),
                ContainerStatusNames.Parse(Text(root, "State")),
                Text(root, "Status"),
                ParseLabels(Text(root, "Labels")))
            {
                // docker ps quotes the command as a whole: "vllm serve Qwen/Qwen3-8B --port 8000".
                Command = Text(root, "Command").Trim('"'),
            });
        }

        return containers;
    }

    /// <summary><c>docker ps</c> prints labels as <c>k=v,k2=v2</c>; the panel's own label values never hold commas.</summary>
    public static ImmutableDictionary<string, string> ParseLabels(string labels)
    {
        var result = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var pair in labels.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                result[pair[..equals]] = pair[(equals + 1)..];
            }
        }

        return result.ToImmutable();
    }

    public static ContainerInfo? ParseInspect(string output)
    {
        using var document = JsonDocument.Parse(output);
        if (document.RootElement.ValueKind != JsonValueKind.Array || document.RootElement.GetArrayLength() == 0)
        {
            return null;
        }

        var root = document.RootElement[0];
        var state = root.GetProperty("State");
        var config = root.TryGetProperty("Config", out var c) ? c : default;
        var host = root.TryGetProperty("HostConfig", out var h) ? h : default;
        var labels = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (config.ValueKind == JsonValueKind.Object && config.TryGetProperty("Labels", out var labelObject) && labelObject.ValueKind == JsonValueKind.Object)
        {
            foreach (var label in labelObject.EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? string.Empty;
            }
        }

        return new ContainerInfo
        {
            Id = Text(root, "Id"),
            Name = Text(root, "Name").TrimStart('/'),
            Image = config.ValueKind == JsonValueKind.Object ? Text(config, "Image") : Text(root, "Image"),
            ImageId = Text(root, "Image"),
            Status = ContainerStatusNames.Parse(Text(state, "Status")),
            OomKilled = state.TryGetProperty("OOMKilled", out var oom) && oom.ValueKind == JsonValueKind.True,
            ExitCode = state.TryGetProperty("ExitCode", out var exit) ? exit.GetInt32() : 0,
            Error = Text(state, "Error") is { Length: > 0 } error ? error : null,
            StartedAt = ParseTime(Text(state, "StartedAt")),
            FinishedAt = ParseTime(Text(state, "FinishedAt")),
            Health = state.TryGetProperty("Health", out var health) && health.ValueKind == JsonValueKind.Object ? Text(health, "Status") : null,
            RestartCount = root.TryGetProperty("RestartCount", out var restarts) ? restarts.GetInt32() : 0,
            AutoRemove = host.ValueKind == JsonValueKind.Object && host.TryGetProperty("AutoRemove", out var autoRemove) && autoRemove.ValueKind == JsonValueKind.True,
            MemoryLimitBytes = host.ValueKind == JsonValueKind.Object && host.TryGetProperty("Memory", out var memory) && memory.GetInt64() != 0 ? memory.GetInt64() : null,
            MemorySwapLimitBytes = host.ValueKind == JsonValueKind.Object && host.TryGetProperty("MemorySwap", out var swap) && swap.GetInt64() != 0 ? swap.GetInt64() : null,
            Labels = labels.ToImmutable(),
        };
    }

    /// <summary>RFC 3339 with up to nanoseconds; Docker's zero time (<c>0001-01-01T00:00:00Z</c>) means never.</summary>
    public static DateTimeOffset? ParseTime(string text)
    {
        if (string.IsNullOrEmpty(text) || text.StartsWith("0001-01-01", StringComparison.Ordinal))
        {
            return null;
        }

        // .NET reads at most 7 fractional digits; Docker writes 9.
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = text[..(dot + 8)] + text[end..];
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }

    private static string Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;
}
