using SparkControl.Core.Operations;
using SparkControl.Core.Validation;

namespace SparkControl.Web.Model;

/// <summary>Alert webhooks as the API and the Settings page take and show them; one conversion for both.</summary>
public static class AlertInput
{
    public sealed record AlertBody(string? Name, string? Url, string? Format, string[]? Kinds, int? DiskPercent, int? MemoryPercent);

    public sealed record AlertView(string Name, string Format, string[] Kinds, int DiskPercent, int MemoryPercent, bool AddressSet, string? AddressHost, AlertDeliveryRecord? LastDelivery);

    public sealed record AlertsView(AlertView[] Webhooks, AlertDeliveryRecord[] Recent);

    /// <summary>The body as a webhook's settings; unknown formats and kinds are field errors, omitted ones the defaults.</summary>
    public static AlertTarget ToTarget(AlertBody body, string? name)
    {
        var errors = new List<FieldError>();
        var format = body.Format is null ? AlertFormat.Json : AlertNames.ParseFormat(body.Format);
        if (format is null)
        {
            errors.Add(new FieldError("format", $"format must be one of {string.Join(", ", AlertNames.Formats)}"));
        }

        var kinds = new List<AlertKind>();
        foreach (var text in body.Kinds ?? [.. AlertNames.Kinds])
        {
            if (AlertNames.ParseKind(text) is { } kind)
            {
                kinds.Add(kind);
            }
            else
            {
                errors.Add(new FieldError("kinds", $"kinds may only hold {string.Join(", ", AlertNames.Kinds)}"));
            }
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        return new AlertTarget
        {
            Name = name ?? string.Empty,
            Format = format!.Value,
            Kinds = [.. kinds.Distinct()],
            DiskPercent = body.DiskPercent ?? AlertTarget.DefaultDiskPercent,
            MemoryPercent = body.MemoryPercent ?? AlertTarget.DefaultMemoryPercent,
        };
    }

    public static AlertView View(AlertTarget target, AlertWebhooks webhooks, AlertDelivery delivery)
    {
        var host = webhooks.AddressHost(target.Name);
        return new AlertView(target.Name, target.Format.ToYaml(), [.. target.Kinds.Select(k => k.ToYaml())], target.DiskPercent, target.MemoryPercent, host is not null, host,
            delivery.Recent.FirstOrDefault(r => string.Equals(r.Target, target.Name, StringComparison.OrdinalIgnoreCase)));
    }
}
