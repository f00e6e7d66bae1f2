using SparkControl.Core.Validation;

namespace SparkControl.Web.Api;

/// <summary>
/// Route values pass the same validators as bodies before any handler looks them up: a hostile id is a 400 that names
/// the field, never a 404 that echoes it or a lookup that carries it further.
/// </summary>
public static class RouteValueValidation
{
    public static TBuilder ValidateRouteValues<TBuilder>(this TBuilder builder, params (string Name, Func<string, string?> Check)[] rules)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var errors = new List<FieldError>();
            foreach (var (name, check) in rules)
            {
                if (context.HttpContext.Request.RouteValues.TryGetValue(name, out var value) && value is string text && check(text) is { } error)
                {
                    errors.Add(new FieldError(name, error));
                }
            }

            return errors.Count > 0 ? throw new ValidationFailedException(errors) : await next(context);
        });

    /// <summary>A swap's id as the orchestrator makes them: 12 lower-case hex digits.</summary>
    public static string? SwapId(string value) => HexId(value, "a swap id");

    /// <summary>A NIM install's id, made the same way.</summary>
    public static string? NimInstallId(string value) => HexId(value, "a NIM install id");

    /// <summary>A copy's id, made the same way.</summary>
    public static string? CopyId(string value) => HexId(value, "a copy id");

    private static string? HexId(string value, string what) =>
        value.Length == 12 && value.All(char.IsAsciiHexDigitLower) ? null : $"id '{Validators.Printable(value)}' is not {what} (12 lower-case hex digits)";
}
