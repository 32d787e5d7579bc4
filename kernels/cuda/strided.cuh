// By-value layouts of strided views (rank <= 8), shared by elementwise.cu and copy.cu, and the
// index math that maps a linear row-major output index to element offsets of the inputs.
// Mirrored in kernels/src/ptx.rs (`Strided`, `Bcast`): keep the field order and types in sync.
#pragma once

#define MAX_RANK 8

// A strided view: element (i0, .., i{rank-1}) is at offset + sum_d i_d * strides[d].
// dims[rank..8) and strides[rank..8) are ignored. `pad` keeps the 8-byte fields aligned.
struct Strided {
    unsigned rank, pad;
    unsigned dims[MAX_RANK];
    long long strides[MAX_RANK];
    long long offset;
};

// Two inputs broadcast to one output shape `dims`: a's element strides per output dim (0
// where a is broadcast along it), b's likewise. `contiguous` != 0 promises that both inputs
// are dense with the output's shape (then a[a_offset + i], b[b_offset + i], no index math).
struct Bcast {
    unsigned rank, contiguous;
    unsigned dims[MAX_RANK];
    long long a_strides[MAX_RANK];
    long long b_strides[MAX_RANK];
    long long a_offset, b_offset;
};

// Offsets into two views of the row-major output index i (innermost dim fastest). The loop is
// unrolled over the fixed MAX_RANK, so every dims/strides access is a constant param offset.
__forceinline__ void strided_offsets2(unsigned i, unsigned rank, const unsigned* dims,
                                      const long long* sa, const long long* sb, long long& oa,
                                      long long& ob) {
#pragma unroll
    for (int d = MAX_RANK - 1; d >= 0; --d) {
        if (d < (int)rank) {
            unsigned c = i % dims[d];
            i /= dims[d];
            oa += (long long)c * sa[d];
            ob += (long long)c * sb[d];
        }
    }
}

__forceinline__ long long strided_offset(unsigned i, const Strided& s) {
    long long o = s.offset, unused = 0;
    strided_offsets2(i, s.rank, s.dims, s.strides, s.strides, o, unused);
    return o;
}

// A register copy of a by-value struct parameter, field by field with constant indices: the
// kernels then never take the parameter's address (NVRTC would otherwise emit
// `mov.b64 %rd, param` + `ld.param [%rd+off]`, which the simulator does not load yet).
#define COPY8(dst, src) \
    dst[0] = src[0]; dst[1] = src[1]; dst[2] = src[2]; dst[3] = src[3]; \
    dst[4] = src[4]; dst[5] = src[5]; dst[6] = src[6]; dst[7] = src[7];

__forceinline__ Strided load_strided(const Strided& p) {
    Strided s;
    s.rank = p.rank;
    s.pad = 0;
    COPY8(s.dims, p.dims)
    COPY8(s.strides, p.strides)
    s.offset = p.offset;
    return s;
}

__forceinline__ Bcast load_bcast(const Bcast& p) {
    Bcast g;
    g.rank = p.rank;
    g.contiguous = p.contiguous;
    COPY8(g.dims, p.dims)
    COPY8(g.a_strides, p.a_strides)
    COPY8(g.b_strides, p.b_strides)
    g.a_offset = p.a_offset;
    g.b_offset = p.b_offset;
    return g;
}
