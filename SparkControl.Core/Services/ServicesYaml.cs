using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Yaml;
using SparkControl.Core.Sparks;
using SparkControl.Core.Units;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Services;

/// <summary>Reads and writes <c>services.yaml</c>: the services on each Spark.</summary>
public static class ServicesYaml
{
    public const string FileName = "services.yaml";

    public static (ImmutableArray<ServiceDefinition> Services, ImmutableArray<ConfigProblem> Problems) Read(string text, string file)
    {
        var problems = new List<ConfigProblem>();
        var root = YamlMap.Load(text, file, problems);
        var services = ImmutableArray.CreateBuilder<ServiceDefinition>();
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in root.Maps("services"))
        {
            var before = problems.Count;
            var service = ReadService(entry);
            if (service is null || problems.Count > before)
            {
                continue;
            }

            if (!keys.Add(service.Key))
            {
                entry.Problem($"service '{service.Name}' appears twice on Spark '{service.Spark}'");
                continue;
            }

            services.Add(service);
        }

        root.RejectUnknown();
        return (services.ToImmutable(), [.. problems]);
    }

    private static ServiceDefinition? ReadService(YamlMap map)
    {
        var spark = map.String("spark", required: true);
        var name = map.String("name", required: true);
        var kindText = map.String("kind", required: true);
        var kind = ServiceKindNames.Parse(kindText);
        if (kindText is not null && kind is null)
        {
            map.ProblemAt("kind", $"kind '{kindText}' must be one of {string.Join(", ", ServiceKindNames.All)}");
        }

        var container = map.String("container");
        var port = map.Int("port");
        var grpcPort = map.Int("grpcPort");
        var url = map.String("url");
        var healthPath = map.String("healthPath");
        var memoryText = map.String("memoryLimit");
        long? memory = null;
        if (memoryText is not null)
        {
            memory = ByteSize.TryParse(memoryText, out var bytes) ? bytes : -1;
        }

        var estimate = map.Double("memoryEstimateGiB");
        var links = ReadLinks(map);
        var models = ReadModels(map);
        var maxInFlight = map.Int("maxInFlight");
        var measuredKnee = map.Int("measuredKnee");
        map.RejectUnknown();
        if (spark is null || name is null || kind is null)
        {
            return null;
        }

        var service = new ServiceDefinition
        {
            Spark = spark,
            Name = name,
            Kind = kind.Value,
            Container = container,
            Port = port,
            GrpcPort = grpcPort,
            Url = url,
            HealthPath = healthPath,
            MemoryLimitBytes = memory,
            MemoryEstimateGiB = estimate,
            Links = [.. links],
            Models = [.. models],
            MaxInFlight = maxInFlight,
            MeasuredKnee = measuredKnee,
        };
        ReportProblems(map, service);
        return service;
    }

    /// <summary>The validators the form and API use, each problem placed at the YAML key it is about.</summary>
    private static void ReportProblems(YamlMap map, ServiceDefinition service)
    {
        foreach (var error in Validate(service))
        {
            if (map.Has(error.Field))
            {
                map.ProblemAt(error.Field, error.Message);
            }
            else
            {
                map.Problem(error.Message);
            }
        }
    }

    private static List<ServiceLink> ReadLinks(YamlMap map)
    {
        var links = new List<ServiceLink>();
        foreach (var link in map.Maps("links"))
        {
            var title = link.String("title", required: true);
            var href = link.String("url", required: true);
            link.RejectUnknown();
            if (title is not null && href is not null)
            {
                links.Add(new ServiceLink(title, href));
            }
        }

        return links;
    }

    /// <summary><c>models:</c> entries, each <c>name</c> with optional <c>aliases</c>.</summary>
    private static List<ServiceModelName> ReadModels(YamlMap map)
    {
        var models = new List<ServiceModelName>();
        foreach (var entry in map.Maps("models"))
        {
            var name = entry.String("name", required: true);
            var aliases = entry.Strings("aliases");
            entry.RejectUnknown();
            if (name is not null)
            {
                models.Add(new ServiceModelName(name, [.. aliases]));
            }
        }

        return models;
    }

    /// <summary>Every rule a service's settings must meet, as field errors: used by services.yaml, the API and the Settings form.</summary>
    public static IReadOnlyList<FieldError> Validate(ServiceDefinition service)
    {
        var errors = new List<FieldError>();
        void Check(string field, string? error)
        {
            if (error is not null)
            {
                errors.Add(new FieldError(field, error));
            }
        }

        Check("spark", Validators.Name(service.Spark, "spark"));
        Check("name", Validators.Name(service.Name));
        if (service.Container is not null)
        {
            Check("container", Validators.Name(service.Container, "container"));
        }

        Check("port", Validators.Port(service.Port));
        Check("grpcPort", Validators.Port(service.GrpcPort, "grpcPort"));
        if (service.Url is { } url && !IsHttpUrl(url))
        {
            errors.Add(new FieldError("url", $"url '{Validators.Printable(url)}' must be an absolute http(s) address"));
        }

        if (service.HealthPath is { } path && HealthPathProblem(path) is { } pathProblem)
        {
            errors.Add(new FieldError("healthPath", pathProblem));
        }

        if (service.MemoryLimitBytes is { } memory && Validators.MemoryLimit(memory) is { } memoryProblem)
        {
            errors.Add(new FieldError("memoryLimit", memoryProblem));
        }

        if (service.MemoryEstimateGiB is { } estimate && (!double.IsFinite(estimate) || estimate < 0 || estimate > 1024))
        {
            errors.Add(new FieldError("memoryEstimateGiB", "memoryEstimateGiB must be between 0 and 1024"));
        }

        foreach (var link in service.Links)
        {
            if (string.IsNullOrWhiteSpace(link.Title) || link.Title.Length > 100 || link.Title.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format))
            {
                errors.Add(new FieldError("links", $"a link's title '{Validators.Printable(link.Title ?? string.Empty)}' must be 1-100 printable characters"));
            }

            if (!IsHttpUrl(link.Url))
            {
                errors.Add(new FieldError("links", $"the link '{Validators.Printable(link.Title ?? string.Empty)}' must be an absolute http(s) address"));
            }
        }

        AudioProblems(service, errors);
        if (service.Container is null && service.Port is null && service.Url is null)
        {
            errors.Add(new FieldError("container", "a service needs a container, a port or a url to be checked"));
        }

        return errors;
    }

    /// <summary>Model names (each a valid served name, none twice) and the in-flight cap with its ceiling.</summary>
    private static void AudioProblems(ServiceDefinition service, List<FieldError> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in service.Models.SelectMany(m => m.Aliases.Prepend(m.Name)))
        {
            if (Validators.ServedName(name, "models") is { } problem)
            {
                errors.Add(new FieldError("models", problem));
            }
            else if (!seen.Add(name))
            {
                errors.Add(new FieldError("models", $"the model name '{name}' appears twice"));
            }
        }

        if (service.MeasuredKnee is { } knee && knee is < 1 or > ServiceDefinition.HighestCap)
        {
            errors.Add(new FieldError("measuredKnee", $"measuredKnee must be between 1 and {ServiceDefinition.HighestCap}, not {knee}"));
        }

        var ceiling = Math.Max(ServiceDefinition.UnmeasuredCeiling, service.MeasuredKnee ?? 0);
        if (service.MaxInFlight is { } cap && (cap < 1 || cap > ceiling))
        {
            errors.Add(new FieldError("maxInFlight", service.MeasuredKnee is null
                ? $"maxInFlight must be between 1 and {ceiling}, not {cap}; run a concurrency sweep (Audio → Sweep) to measure a higher cap"
                : $"maxInFlight must be between 1 and {ceiling} (the measured knee or {ServiceDefinition.UnmeasuredCeiling}), not {cap}"));
        }

        if ((service.MaxInFlight is not null || service.MeasuredKnee is not null) && service.Models.IsEmpty)
        {
            errors.Add(new FieldError("maxInFlight", "maxInFlight applies to services that answer to models at the gateway: add models first"));
        }
    }

    /// <summary>An absolute http(s) address without spaces, control characters or credentials.</summary>
    public static bool IsHttpUrl(string? url) =>
        url is { Length: > 0 and <= 2048 } && !url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
        && Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.UserInfo.Length == 0 && uri.Host.Length > 0;

    /// <summary>
    /// A path on the service's own address: one leading '/', URL path characters only. "//host/x" would be read as
    /// another host (a probe sent elsewhere), and a backslash is a slash to some servers.
    /// </summary>
    public static string? HealthPathProblem(string path) =>
        path.Length is > 0 and <= 256 && path[0] == '/' && (path.Length == 1 || path[1] != '/') && path.All(c => char.IsAsciiLetterOrDigit(c) || "-._~/?=&%".Contains(c, StringComparison.Ordinal))
            ? null
            : $"healthPath '{Validators.Printable(path)}' must be a path on the service such as /health: one leading '/', then letters, digits and - . _ ~ / ? = & %";

    public static string Write(IEnumerable<ServiceDefinition> services) => new YamlWriter()
        .Add("services", services.Select(s => new YamlWriter()
            .Add("spark", s.Spark)
            .Add("name", s.Name)
            .Add("kind", s.Kind.ToYaml())
            .Add("container", s.Container)
            .Add("port", s.Port)
            .Add("grpcPort", s.GrpcPort)
            .Add("url", s.Url)
            .Add("healthPath", s.HealthPath)
            .Add("memoryLimit", s.MemoryLimitBytes is { } bytes ? ByteSize.Format(bytes) : null)
            .Add("memoryEstimateGiB", s.MemoryEstimateGiB)
            .Add("links", s.Links.Select(l => new YamlWriter().Add("title", l.Title).Add("url", l.Url)))
            .AddIf(!s.Models.IsEmpty, "models", s.Models.Select(m => new YamlWriter().Add("name", m.Name).Add("aliases", m.Aliases)))
            .Add("maxInFlight", s.MaxInFlight)
            .Add("measuredKnee", s.MeasuredKnee)))
        .ToYaml("Services on each Spark, probed by the health monitor. Edited from the Settings page.");
}
