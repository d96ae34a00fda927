//! The pest parser generated from `grammar/plan.pest`, and the user-facing name of every rule.
//!
//! Receives nothing at run time; provides [`PlanParser`] (parse one line with [`Rule::line`]) and
//! [`describe`], which names a rule the way a syntax error should ("a tensor reference",
//! "`=`"). **Every rule has a name**: `describe` is an exhaustive match, so adding a rule to the
//! grammar without naming it does not compile. Rules that never reach an error message (silent
//! helpers, inner pieces of atomic tokens) are named anyway, after the token they belong to.

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/plan.pest"]
pub struct PlanParser;

/// The user-facing name of a grammar rule, for "expected …" messages.
pub fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of line",
        Rule::WHITESPACE => "a space",
        Rule::COMMENT => "a comment",
        Rule::line | Rule::statement_keyword => "a statement",
        Rule::block_open => "`execute {`",
        Rule::block_close | Rule::close_brace => "`}`",
        Rule::open_brace => "`{`",
        Rule::input_declaration | Rule::kw_input => "`input`",
        Rule::output_declaration | Rule::kw_output => "`output`",
        Rule::format_option | Rule::dump_format_option | Rule::kw_format => "`format=`",
        Rule::shard_option | Rule::kw_shard => "`shard=`",
        Rule::alias_option | Rule::kw_alias => "`alias=`",
        Rule::assert_statement | Rule::kw_assert | Rule::help_assert => "`assert`",
        Rule::delete_statement | Rule::kw_delete => "`del`",
        Rule::move_statement | Rule::kw_move => "`move`",
        Rule::dump_statement | Rule::kw_dump => "`dump`",
        Rule::verbosity_option | Rule::kw_verbosity => "`verbosity=`",
        Rule::diff_statement | Rule::kw_diff => "`diff`",
        Rule::diff_aliases | Rule::kw_aliases => "`aliases`",
        Rule::diff_references => "two tensor references",
        Rule::eps_option | Rule::eps_argument | Rule::kw_eps => "`eps=`",
        Rule::help_statement | Rule::kw_help => "`help`",
        Rule::help_topic => "a help topic",
        Rule::load_statement | Rule::kw_load => "`load`",
        Rule::to_option | Rule::kw_to => "`to=`",
        Rule::save_statement | Rule::kw_save => "`save`",
        Rule::target_option | Rule::kw_target => "`target=`",
        Rule::prefixes_statement | Rule::kw_prefixes => "`prefixes`",
        Rule::prefixes_add | Rule::kw_add => "`add`",
        Rule::prefixes_remove | Rule::kw_remove => "`remove`",
        Rule::prefixes_rename | Rule::kw_rename => "`rename`",
        Rule::set_statement | Rule::kw_set => "`set`",
        Rule::set_option => "a flag (`dry-run=`, `preview=`, `verbose=`)",
        Rule::kw_dry_run => "`dry-run=`",
        Rule::kw_preview => "`preview=`",
        Rule::kw_verbose => "`verbose=`",
        Rule::exit_statement | Rule::kw_exit => "`exit`",
        Rule::execute_statement | Rule::kw_execute => "`execute`",
        Rule::kw_plan => "`plan`",
        Rule::in_place_call
        | Rule::clamp_in_place
        | Rule::reshape_in_place
        | Rule::cast_in_place
        | Rule::fill_in_place
        | Rule::phlora_in_place
        | Rule::kw_clamp_
        | Rule::kw_reshape_
        | Rule::kw_cast_
        | Rule::kw_fill_
        | Rule::kw_phlora_
        | Rule::lora_merge_in_place
        | Rule::kw_lora_merge_ => "an in-place call such as `clamp_(x, min=0)`",
        Rule::assignment | Rule::destinations => "a tensor reference",
        Rule::bind_new => "`=`",
        Rule::store_into => "`<-`",
        Rule::add_into => "`+=`",
        Rule::subtract_into => "`-=`",
        Rule::scale_into => "`*=`",
        Rule::expression | Rule::primary => {
            "an expression (a tensor reference, a number or a function call)"
        }
        Rule::infix_operator => "an operator (`+`, `-`, `*`, `@`)",
        Rule::plus => "`+`",
        Rule::minus => "`-`",
        Rule::times => "`*`",
        Rule::matmul => "`@`",
        Rule::cast_suffix | Rule::kw_as => "`as`",
        Rule::function_call
        | Rule::clamp_call
        | Rule::reshape_call
        | Rule::permute_call
        | Rule::transpose_call
        | Rule::fill_call
        | Rule::zeroes_call
        | Rule::ones_call
        | Rule::rand_call
        | Rule::concat_call
        | Rule::split_call
        | Rule::phlora_call
        | Rule::kw_clamp
        | Rule::kw_reshape
        | Rule::kw_permute
        | Rule::kw_transpose
        | Rule::kw_fill
        | Rule::kw_zeroes
        | Rule::kw_ones
        | Rule::kw_rand
        | Rule::kw_concat
        | Rule::kw_split
        | Rule::kw_phlora
        | Rule::lora_extract_call
        | Rule::kw_lora_extract => "a function call",
        Rule::clamp_bound => "`min=` or `max=`",
        Rule::kw_min => "`min=`",
        Rule::kw_max => "`max=`",
        Rule::dtype_argument => "`dtype=`",
        Rule::seed_argument | Rule::kw_seed => "`seed=`",
        Rule::dim_argument | Rule::kw_dim => "`dim=`",
        Rule::rank_argument | Rule::kw_rank => "`rank=`",
        Rule::energy_argument | Rule::kw_energy => "`energy=`",
        Rule::alpha_argument | Rule::kw_alpha => "`alpha=`",
        Rule::svd_argument => {
            "an SVD argument (`method=`, `oversampling=`, `power_iterations=`, `seed=`)"
        }
        Rule::method_argument | Rule::kw_method => "`method=`",
        Rule::oversampling_argument | Rule::kw_oversampling => "`oversampling=`",
        Rule::power_iterations_argument | Rule::kw_power_iterations => "`power_iterations=`",
        Rule::delete_original_argument | Rule::kw_delete_original => "`delete_original=`",
        Rule::require_missing_dest_argument | Rule::kw_require_missing_dest => {
            "`require_missing_dest=`"
        }
        Rule::fill_spec => "a fill value (a number, `[values]` or a distribution)",
        Rule::fill_constant => "a number",
        Rule::fill_tensor => "a `[…]` list of values",
        Rule::kw_tensor => "`tensor(…)`",
        Rule::fill_random | Rule::distribution => "a distribution (`uniform(…)`, `normal(…)`)",
        Rule::uniform | Rule::kw_uniform => "`uniform(…)`",
        Rule::uniform_param => "`low=` or `high=`",
        Rule::kw_low => "`low=`",
        Rule::kw_high => "`high=`",
        Rule::normal | Rule::kw_normal => "`normal(…)`",
        Rule::normal_param => "`mean=` or `std=`",
        Rule::kw_mean => "`mean=`",
        Rule::kw_std => "`std=`",
        Rule::nested_values | Rule::nested_list => "a number or a `[…]` list of numbers",
        Rule::assert_expression
        | Rule::not_assertion
        | Rule::exists_assertion
        | Rule::count_assertion
        | Rule::shape_assertion
        | Rule::dimensions_assertion
        | Rule::dtype_assertion
        | Rule::equal_assertion
        | Rule::iszero_assertion
        | Rule::reads_assertion
        | Rule::writes_assertion
        | Rule::all_assertion
        | Rule::any_assertion
        | Rule::kw_not
        | Rule::kw_exists
        | Rule::kw_count
        | Rule::kw_shape
        | Rule::kw_dimensions
        | Rule::kw_dtype_of
        | Rule::kw_equal
        | Rule::kw_iszero
        | Rule::kw_reads
        | Rule::kw_writes
        | Rule::kw_all
        | Rule::kw_any => "an assertion such as `exists(x)` or `shape(x) == [2, 3]`",
        Rule::kw_dtype => "`dtype=`",
        Rule::bounds | Rule::bound => "a comparison such as `== 2` or `>= 1`",
        Rule::is_equal => "`==`",
        Rule::at_least => "`>=`",
        Rule::at_most => "`<=`",
        Rule::greater => "`>`",
        Rule::less => "`<`",
        Rule::reference
        | Rule::alias_prefix
        | Rule::pattern
        | Rule::bare_regex
        | Rule::bare_piece
        | Rule::group_piece
        | Rule::class_piece
        | Rule::bare_escape => "a tensor reference",
        Rule::slice_like | Rule::slice_suffix | Rule::slice => "a slice such as `[:, :10]`",
        Rule::slice_component | Rule::slice_range => "an integer or `:`",
        Rule::slash_regex | Rule::slash_body => "a regex between slashes",
        Rule::closing_slash => "the closing `/` of the regex",
        Rule::structured_pattern => "a structured pattern such as `[h, $i, *rest]`",
        Rule::structured_token | Rule::regex_token | Rule::plain_token | Rule::token_piece => {
            "a structured token (`name`, `$x`, `*xs`, `~regex`)"
        }
        Rule::alias_name | Rule::bare_alias => "an alias name",
        Rule::number => "a number",
        Rule::integer => "an integer",
        Rule::unsigned => "a non-negative integer",
        Rule::boolean => "`true` or `false`",
        Rule::integer_list => "a list of integers such as `[2, -1]`",
        Rule::unsigned_list => "a list of non-negative integers such as `[2, 3]`",
        Rule::size => "a size such as `2GB`, or `none`",
        Rule::dtype => "a dtype such as `float16`",
        Rule::word => "a name",
        Rule::identifier | Rule::option_name => "a name",
        Rule::string | Rule::string_body => "a quoted string",
        Rule::closing_quote => "the closing `\"` of the string",
        Rule::equals => "`=`",
        Rule::comma => "`,`",
        Rule::arrow => "`->`",
        Rule::colon => "`:`",
        Rule::double_colon => "`::`",
        Rule::open_paren => "`(`",
        Rule::close_paren => "`)`",
        Rule::open_bracket => "`[`",
        Rule::close_bracket => "`]`",
        Rule::keyword_end | Rule::option_end => "a space",
    }
}
